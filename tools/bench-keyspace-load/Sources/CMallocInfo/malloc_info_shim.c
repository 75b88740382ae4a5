#include "malloc_info_shim.h"
#if defined(__linux__)
#include <malloc.h>
size_t heap_bytes_in_use(void) {
    struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;
}
void heap_trim(void) { malloc_trim(0); }
#else
size_t heap_bytes_in_use(void) { return 0; }
void heap_trim(void) {}
#endif
