/* id.c: random (version 4) UUIDs. libuuid's uuid_generate_random asks the
 * kernel for randomness on every call, a system call per task; here each
 * thread seeds a xoshiro256** generator from libuuid once (and again in a
 * forked child, so parent and child never share a stream) and draws ids
 * from it. Ids need to be unique, not secret. */
#include <cel/id.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <uuid/uuid.h>

static atomic_uint forks;                 /* bumped in every forked child */
static _Thread_local unsigned seen = ~0u; /* forks when this thread seeded */
static _Thread_local uint64_t state[4];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void
on_fork_child(void)
{
    atomic_fetch_add(&forks, 1);
}

static void
register_fork(void)
{
    (void)pthread_atfork(NULL, NULL, on_fork_child);
}

static uint64_t
rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t
next(void)
{
    uint64_t result = rotl(state[1] * 5, 7) * 9, t = state[1] << 17;

    state[2] ^= state[0];
    state[3] ^= state[1];
    state[1] ^= state[2];
    state[0] ^= state[3];
    state[2] ^= t;
    state[3] = rotl(state[3], 45);
    return result;
}

static void
seed(void)
{
    uuid_t a, b;

    pthread_once(&once, register_fork);
    do {
        uuid_generate_random(a);
        uuid_generate_random(b);
        memcpy(&state[0], a, sizeof(a));
        memcpy(&state[2], b, sizeof(b));
    } while ((state[0] | state[1] | state[2] | state[3]) == 0);
    seen = atomic_load(&forks);
}

void
cel_id_new(char out[CEL_ID_SIZE])
{
    uuid_t u;
    uint64_t hi, lo;

    if (seen != atomic_load(&forks)) {
        seed();
    }
    hi = next();
    lo = next();
    memcpy(u, &hi, 8);
    memcpy(u + 8, &lo, 8);
    u[6] = (unsigned char)((u[6] & 0x0f) | 0x40); /* version 4 */
    u[8] = (unsigned char)((u[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    uuid_unparse_lower(u, out);
}
