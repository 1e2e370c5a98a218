/* id.h: task and queue ids, random (version 4) UUIDs in their 36-character
 * lower-case text form, as Celery's uuid() makes them. */
#ifndef CEL_COMMON_ID_H
#define CEL_COMMON_ID_H

#ifdef __cplusplus
extern "C" {
#endif

#define CEL_ID_SIZE 37 /* 36 characters and the terminating NUL */

/* cel_id_new writes a fresh random UUID into out. */
void cel_id_new(char out[CEL_ID_SIZE]);

#ifdef __cplusplus
}
#endif
#endif
