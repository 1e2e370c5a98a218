/* Must NOT compile, with a message that says what to do: the header that
 * declares the tasks comes before <cel/task.h>, so <cel/declare.h> could
 * not know to make the worker side. */
#include "tasks.h"

#include <cel/task.h>

CEL_TASK_IMPL(add, int64_t x, int64_t y)
{
    return json_integer(x + y);
}
