// The test bundle's own malloc family: it counts the calling thread's allocations while a test has
// asked for it and otherwise just forwards to glibc's implementation (`__libc_malloc` and friends,
// exported for exactly this kind of wrapper), so the rest of the suite is unaffected. Defining
// these symbols in the executable puts them ahead of libc for every library the process loads, the
// same interposition swift-nio's allocation-counter tests use, without LD_PRELOAD.
//
// Under AddressSanitizer or ThreadSanitizer the sanitizer runtime owns malloc, so nothing is
// defined here and `allocation_counter_start()` reports that counting is unavailable.
#include "allocation_counter.h"

#include <stdlib.h>  // also defines __GLIBC__ on glibc

#if defined(__has_feature)
#  if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#    define ALLOCATION_COUNTER_DISABLED 1
#  endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__) || !defined(__GLIBC__)
#  define ALLOCATION_COUNTER_DISABLED 1
#endif

#ifdef ALLOCATION_COUNTER_DISABLED

int allocation_counter_start(void) { return -1; }
long allocation_counter_stop(void) { return 0; }

#else

#include <errno.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void __libc_free(void *pointer);

static __thread int counting;
static __thread long count;

int allocation_counter_start(void) {
    count = 0;
    counting = 1;
    return 0;
}

long allocation_counter_stop(void) {
    counting = 0;
    return count;
}

void *malloc(size_t size) {
    if (counting) count++;
    return __libc_malloc(size);
}

void *calloc(size_t n, size_t size) {
    if (counting) count++;
    return __libc_calloc(n, size);
}

void *realloc(void *pointer, size_t size) {
    if (counting) count++;
    return __libc_realloc(pointer, size);
}

void free(void *pointer) { __libc_free(pointer); }

void *memalign(size_t alignment, size_t size) {
    if (counting) count++;
    return __libc_memalign(alignment, size);
}

void *aligned_alloc(size_t alignment, size_t size) {
    if (counting) count++;
    return __libc_memalign(alignment, size);
}

int posix_memalign(void **out, size_t alignment, size_t size) {
    if (alignment % sizeof(void *) != 0 || (alignment & (alignment - 1)) != 0) return EINVAL;
    if (counting) count++;
    void *pointer = __libc_memalign(alignment, size);
    if (pointer == NULL && size != 0) return ENOMEM;
    *out = pointer;
    return 0;
}

#endif
