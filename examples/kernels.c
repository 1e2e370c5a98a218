/* kernels.c: the CPU-bound work of the course notes (see kernels.h). */
#include "kernels.h"

/* The empty asm keeps the compiler from replacing the loop with
 * x*(x+1)/2: the loop is the work. */
int64_t
kernel_sum_all_values(int64_t x)
{
    int64_t total = 0;

    for (int64_t i = 1; i <= x; i++) {
        total += i;
        __asm__ volatile("" : "+r"(total));
    }
    return total;
}

static int
is_prime(int64_t n)
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

int64_t
kernel_count_primes(int64_t from, int64_t to)
{
    int64_t count = 0;

    for (int64_t n = from; n < to; n++) {
        count += is_prime(n);
    }
    return count;
}
