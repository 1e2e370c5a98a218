/* pending.c: the results waiting for replies. One pointer per entry and
 * the id inside the result itself, so a pending result costs the result
 * struct plus about two pointers of table. Deletion shifts the following
 * run back (no tombstones), so lookups stay short however many results
 * come and go. */
#include "producer_internal.h"

#include <stdlib.h>
#include <string.h>

static size_t
hash_id(const char *id)
{
    size_t h = 1469598103934665603ULL; /* FNV-1a */

    for (; *id != '\0'; id++) {
        h = (h ^ (unsigned char)*id) * 1099511628211ULL;
    }
    return h;
}

int
cel__pending_init(cel_pending_t *p)
{
    p->cap = 64;
    p->count = 0;
    p->slots = calloc(p->cap, sizeof(cel_result_t *));
    return p->slots ? 0 : CEL_ENOMEM;
}

void
cel__pending_clear(cel_pending_t *p)
{
    free(p->slots);
    memset(p, 0, sizeof(*p));
}

static void
insert(cel_result_t **slots, size_t cap, cel_result_t *r)
{
    size_t i = hash_id(r->id) & (cap - 1);

    while (slots[i] != NULL) {
        i = (i + 1) & (cap - 1);
    }
    slots[i] = r;
}

static int
grow(cel_pending_t *p)
{
    size_t cap = p->cap * 2;
    cel_result_t **slots = calloc(cap, sizeof(cel_result_t *));

    if (slots == NULL) {
        return CEL_ENOMEM;
    }
    for (size_t i = 0; i < p->cap; i++) {
        if (p->slots[i] != NULL) {
            insert(slots, cap, p->slots[i]);
        }
    }
    free(p->slots);
    p->slots = slots;
    p->cap = cap;
    return 0;
}

int
cel__pending_add(cel_pending_t *p, cel_result_t *r)
{
    if ((p->count + 1) * 4 > p->cap * 3 && grow(p) != 0) {
        return CEL_ENOMEM;
    }
    insert(p->slots, p->cap, r);
    p->count++;
    return 0;
}

cel_result_t *
cel__pending_find(const cel_pending_t *p, const char *id)
{
    size_t i = hash_id(id) & (p->cap - 1);

    while (p->slots[i] != NULL) {
        if (strcmp(p->slots[i]->id, id) == 0) {
            return p->slots[i];
        }
        i = (i + 1) & (p->cap - 1);
    }
    return NULL;
}

void
cel__pending_remove(cel_pending_t *p, const cel_result_t *r)
{
    size_t mask = p->cap - 1, i = hash_id(r->id) & mask;

    while (p->slots[i] != NULL && p->slots[i] != r) {
        i = (i + 1) & mask;
    }
    if (p->slots[i] == NULL) {
        return;
    }
    p->slots[i] = NULL;
    p->count--;
    /* Re-place the rest of the run so no lookup stops early at the hole. */
    for (size_t j = (i + 1) & mask; p->slots[j] != NULL; j = (j + 1) & mask) {
        cel_result_t *moved = p->slots[j];
        p->slots[j] = NULL;
        insert(p->slots, p->cap, moved);
    }
}

void
cel__pending_take_all(cel_pending_t *p, void (*each)(cel_result_t *r))
{
    for (size_t i = 0; i < p->cap; i++) {
        cel_result_t *r = p->slots[i];
        if (r != NULL) {
            p->slots[i] = NULL;
            p->count--;
            r->flags &= (uint8_t)~R_TRACKED;
            each(r);
        }
    }
}
