/* kernels.h: the CPU-bound work of the course notes, as plain C, shared
 * by the task module and the benchmark that runs the same code inline. */
#ifndef CEL_EXAMPLES_KERNELS_H
#define CEL_EXAMPLES_KERNELS_H

#include <stdint.h>

/* 1 + 2 + ... + x, by the notes' loop. The empty asm keeps the compiler
 * from replacing the loop with x*(x+1)/2: the loop is the work. */
static inline int64_t
kernel_sum_all_values(int64_t x)
{
    int64_t total = 0;

    for (int64_t i = 1; i <= x; i++) {
        total += i;
        __asm__ volatile("" : "+r"(total));
    }
    return total;
}

/* The notes' is_prime: trial division by 6k +- 1. */
static inline int
kernel_is_prime(int64_t n)
{
    if (n == 2 || n == 3) {
        return 1;
    }
    if (n < 2 || n % 2 == 0) {
        return 0;
    }
    if (n < 9) {
        return 1;
    }
    if (n % 3 == 0) {
        return 0;
    }
    for (int64_t f = 5; f * f <= n; f += 6) {
        if (n % f == 0 || n % (f + 2) == 0) {
            return 0;
        }
    }
    return 1;
}

/* How many primes in [from, to). */
static inline int64_t
kernel_count_primes(int64_t from, int64_t to)
{
    int64_t count = 0;

    for (int64_t n = from; n < to; n++) {
        count += kernel_is_prime(n);
    }
    return count;
}

#endif
