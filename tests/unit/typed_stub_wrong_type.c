/* Must NOT compile: add_delay takes (client, int64_t, int64_t), and a
 * string is not an int64_t. The suite builds this file with -Werror and
 * expects the compiler to refuse it. */
#include <cel/producer.h>

#include "tasks.h"

cel_result_t *wrong(cel_client_t *c);

cel_result_t *
wrong(cel_client_t *c)
{
    return add_delay(c, "2", 3);
}
