// glibc's heap statistics for keyspace-load (Swift's Glibc module does not export <malloc.h>).
#include <stddef.h>

/// Bytes malloc has handed out and not freed (mallinfo2: uordblks + hblkhd); 0 where unavailable.
size_t heap_bytes_in_use(void);
/// Returns freed memory to the system (malloc_trim(0)).
void heap_trim(void);
