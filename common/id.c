/* id.c: a thin wrapper over libuuid's random UUIDs. */
#include <cel/id.h>

#include <uuid/uuid.h>

void
cel_id_new(char out[CEL_ID_SIZE])
{
    uuid_t u;

    uuid_generate_random(u);
    uuid_unparse_lower(u, out);
}
