/* The same call with the right types compiles: the control for
 * typed_stub_wrong_type.c, so that test cannot pass for a wrong reason. */
#include <cel/producer.h>

#include "tasks.h"

cel_result_t *right(cel_client_t *c);

cel_result_t *
right(cel_client_t *c)
{
    return add_delay(c, 2, 3);
}
