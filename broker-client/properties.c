/* properties.c: the basic properties Celery uses, between cel_envelope_t
 * and amqp_basic_properties_t. Absent properties stay absent both ways, so
 * a task we publish has the flags word Celery's has (0xfe00, or 0xff00 with
 * an expiration) and a result has 0xfc00. */
#include "broker_internal.h"

#include <stdio.h>
#include <string.h>

#define SET_STR(flag, field)                                                   \
    if (env->field[0] != '\0') {                                               \
        p->_flags |= (flag);                                                   \
        p->field = amqp_cstring_bytes(env->field);                             \
    }

int
cel__props_from_envelope(const cel_envelope_t *env, amqp_pool_t *pool,
                         amqp_basic_properties_t *p, cel_error_t *err)
{
    memset(p, 0, sizeof(*p));
    SET_STR(AMQP_BASIC_CONTENT_TYPE_FLAG, content_type);
    SET_STR(AMQP_BASIC_CONTENT_ENCODING_FLAG, content_encoding);
    if (env->headers != NULL) {
        int r = cel__table_from_json(env->headers, pool, &p->headers, err);
        if (r != 0) {
            return r;
        }
        p->_flags |= AMQP_BASIC_HEADERS_FLAG;
    }
    if (env->delivery_mode >= 0) {
        p->_flags |= AMQP_BASIC_DELIVERY_MODE_FLAG;
        p->delivery_mode = (uint8_t)env->delivery_mode;
    }
    if (env->priority >= 0) {
        p->_flags |= AMQP_BASIC_PRIORITY_FLAG;
        p->priority = (uint8_t)env->priority;
    }
    SET_STR(AMQP_BASIC_CORRELATION_ID_FLAG, correlation_id);
    SET_STR(AMQP_BASIC_REPLY_TO_FLAG, reply_to);
    SET_STR(AMQP_BASIC_EXPIRATION_FLAG, expiration);
    return 0;
}

#undef SET_STR

void
cel__copy_bytes(char *dst, size_t size, const amqp_bytes_t *src)
{
    size_t n = src->len < size ? src->len : size - 1;

    if (n > 0) {
        memcpy(dst, src->bytes, n);
    }
    dst[n] = '\0';
}

#define GET_STR(flag, field)                                                   \
    if (p->_flags & (flag)) {                                                  \
        cel__copy_bytes(env->field, sizeof(env->field), &p->field);            \
    }

int
cel__envelope_from_props(const amqp_basic_properties_t *p, cel_envelope_t *env,
                         cel_error_t *err)
{
    GET_STR(AMQP_BASIC_CONTENT_TYPE_FLAG, content_type);
    GET_STR(AMQP_BASIC_CONTENT_ENCODING_FLAG, content_encoding);
    GET_STR(AMQP_BASIC_CORRELATION_ID_FLAG, correlation_id);
    GET_STR(AMQP_BASIC_REPLY_TO_FLAG, reply_to);
    GET_STR(AMQP_BASIC_EXPIRATION_FLAG, expiration);
    if (p->_flags & AMQP_BASIC_DELIVERY_MODE_FLAG) {
        env->delivery_mode = p->delivery_mode;
    }
    if (p->_flags & AMQP_BASIC_PRIORITY_FLAG) {
        env->priority = p->priority;
    }
    if (p->_flags & AMQP_BASIC_HEADERS_FLAG) {
        env->headers = cel__table_to_json(&p->headers, err);
        if (env->headers == NULL) {
            return CEL_EPROTO;
        }
    }
    return 0;
}
