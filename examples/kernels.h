/* kernels.h: the CPU-bound work of the course notes, as plain C, shared
 * by the task module and the benchmark that runs the same code inline. */
#ifndef CEL_EXAMPLES_KERNELS_H
#define CEL_EXAMPLES_KERNELS_H

#include <stdint.h>

/* The kernels live in their own shared library, libexample_kernels, which
 * both the task module and bench_tasks' inline run link: the benchmark
 * compares workerd against exactly the same machine code, not against a
 * second compilation of the same source that may be placed and optimised
 * differently. */

/* 1 + 2 + ... + x, by the notes' loop. */
int64_t kernel_sum_all_values(int64_t x);

/* How many primes in [from, to), by the notes' is_prime (trial division
 * by 6k +- 1). */
int64_t kernel_count_primes(int64_t from, int64_t to);

#endif
