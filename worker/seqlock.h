/* seqlock.h: a sequence count that guards an entry in the board's shared
 * memory (board.h, ops.h) with one writer at a time and readers that never
 * block it. The count is odd while the entry is written. A writer that
 * dies halfway leaves it odd; the next write makes it even again (begin
 * sets the low bit instead of adding one), and readers give up after a
 * bounded number of tries instead of spinning on it.
 *
 * Writer:  unsigned s = cel__seq_write_begin(&e->seq); ...;
 *          cel__seq_write_end(&e->seq, s);
 * Reader:  unsigned s = cel__seq_read_begin(&e->seq); copy ...;
 *          if (cel__seq_read_ok(&e->seq, s)) the copy is whole. */
#ifndef CEL_WORKER_SEQLOCK_H
#define CEL_WORKER_SEQLOCK_H

#include <stdatomic.h>
#include <stdbool.h>

#define CEL_SEQ_TRIES 100 /* reads of an entry before giving up */

static inline unsigned
cel__seq_write_begin(atomic_uint *seq)
{
    unsigned s = atomic_load_explicit(seq, memory_order_relaxed) | 1U;

    atomic_store_explicit(seq, s, memory_order_relaxed);
    atomic_thread_fence(memory_order_release); /* odd before the data */
    return s;
}

static inline void
cel__seq_write_end(atomic_uint *seq, unsigned s)
{
    atomic_store_explicit(seq, s + 1, memory_order_release);
}

static inline unsigned
cel__seq_read_begin(const atomic_uint *seq)
{
    return atomic_load_explicit(seq, memory_order_acquire);
}

/* Whether what was read since cel__seq_read_begin returned s is whole. */
static inline bool
cel__seq_read_ok(const atomic_uint *seq, unsigned s)
{
    atomic_thread_fence(memory_order_acquire); /* the data before the count */
    return (s & 1U) == 0 &&
           atomic_load_explicit(seq, memory_order_relaxed) == s;
}

#endif
