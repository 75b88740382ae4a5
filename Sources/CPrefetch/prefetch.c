// SwiftPM builds a C target from at least one source file; the hint itself is inline in rr_prefetch.h.
#include "rr_prefetch.h"
