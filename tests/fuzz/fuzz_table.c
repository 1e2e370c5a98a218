/* libFuzzer target: the header tables of broker-client/table.c, both ways.
 * Every input is tried twice:
 * - as JSON (cel_json_load): headers the writer accepts must come back
 *   equal through rabbitmq-c's bytes and the reader, and headers it
 *   refuses must get CEL_EINVAL or CEL_ETOOBIG with a text;
 * - as an encoded AMQP table, the way a broker hands headers to workerd:
 *   whatever the reader makes of it, the writer must accept and round
 *   trip, so that a message celeriac accepted can always be republished.
 * Nothing may crash, leak or hit undefined behaviour. */
#include "../support/json_same.h"
#include "broker_internal.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* rabbitmq-c 0.11 decodes nested tables without a depth limit (0.14 has
 * one), so a long run of nested headers would overflow its stack, not
 * ours: wire inputs stay short enough for about 1,600 levels. */
#define WIRE_MAX_BYTES (8 << 10)

/* A table writes to at most 2.5 times its JSON text or its wire bytes
 * (a one-byte integer becomes five), so this holds any input up to
 * 128 KiB, twice run.sh's -max_len. */
static unsigned char wire[1 << 20];

static void
fail(const char *what, const json_t *headers, const cel_error_t *err)
{
    char *text = headers ? cel_json_dump(headers, NULL) : NULL;

    fprintf(stderr, "%s: %.500s (%s)\n", what, text ? text : "?", err->text);
    free(text);
    abort();
}

/* Encoded by rabbitmq-c and read back, table must give headers again. */
static void
check_read_back(const json_t *headers, amqp_table_t *table, amqp_pool_t *pool)
{
    cel_error_t err = CEL_ERROR_INIT;
    amqp_table_t back;
    size_t n = 0, m = 0;

    if (amqp_encode_table((amqp_bytes_t){sizeof(wire), wire}, table, &n) !=
        AMQP_STATUS_OK) {
        fail("rabbitmq-c cannot encode what the writer made", headers, &err);
    }
    if (amqp_decode_table((amqp_bytes_t){n, wire}, pool, &back, &m) !=
            AMQP_STATUS_OK ||
        m != n) {
        fail("rabbitmq-c cannot decode what it encoded", headers, &err);
    }
    json_t *again = cel__table_to_json(&back, &err);
    if (again == NULL || !test_json_same(headers, again)) {
        fail("the reader does not give back what the writer took", headers,
             &err);
    }
    json_decref(again);
}

/* The writer takes headers (or, unless must_accept, refuses them with a
 * reason), and what it writes reads back the same. */
static void
check_write(const json_t *headers, bool must_accept)
{
    cel_error_t err = CEL_ERROR_INIT;
    amqp_pool_t pool;
    amqp_table_t table;

    init_amqp_pool(&pool, 4096);
    int r = cel__table_from_json(headers, &pool, &table, &err);
    if (r == 0) {
        check_read_back(headers, &table, &pool);
    } else if (must_accept) {
        fail("the writer refuses what the reader gave", headers, &err);
    } else if ((r != CEL_EINVAL && r != CEL_ETOOBIG) || err.code != r ||
               err.text[0] == '\0') {
        fail("the writer refuses without a reason", headers, &err);
    }
    empty_amqp_pool(&pool);
}

static void
from_json(const uint8_t *data, size_t size)
{
    cel_error_t err = CEL_ERROR_INIT;
    json_t *headers = cel_json_load((const char *)data, size, &err);

    if (headers != NULL) {
        check_write(headers, false);
    }
    json_decref(headers);
}

static void
from_wire(const uint8_t *data, size_t size)
{
    cel_error_t err = CEL_ERROR_INIT;
    amqp_pool_t pool;
    amqp_table_t table;
    size_t n = 0;

    init_amqp_pool(&pool, 4096);
    if (amqp_decode_table((amqp_bytes_t){size, (void *)data}, &pool, &table,
                          &n) == AMQP_STATUS_OK) {
        json_t *headers = cel__table_to_json(&table, &err);
        if (headers != NULL) {
            check_write(headers, true);
        } else if (err.code != CEL_EPROTO || err.text[0] == '\0') {
            fail("the reader refuses without a reason", NULL, &err);
        }
        json_decref(headers);
    }
    empty_amqp_pool(&pool);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > sizeof(wire) / 8) {
        return 0;
    }
    from_json(data, size);
    if (size <= WIRE_MAX_BYTES) {
        from_wire(data, size);
    }
    return 0;
}
