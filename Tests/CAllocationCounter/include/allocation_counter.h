#ifndef ALLOCATION_COUNTER_H
#define ALLOCATION_COUNTER_H

/// Counts calls to malloc, calloc, realloc, posix_memalign, aligned_alloc and memalign made by the
/// calling thread between `allocation_counter_start()` and `allocation_counter_stop()`, which
/// returns the count. Returns -1 from start when counting is not available in this build (under
/// a sanitizer, whose runtime owns malloc).
int allocation_counter_start(void);
long allocation_counter_stop(void);

#endif
