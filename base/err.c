/* base/err.c - names for errno values and fffs error codes. */
#include <stdlib.h>
#include <string.h>

#include "fffs.h"

const char *fffs_strerror(int err)
{
	const char *s;

	if (err < 0)
		err = -err;
	switch (err) {
	case 0:
		return "Success";
#define FFFS_ERR_CASE(name, num, msg) \
	case num:                     \
		return msg;
		FFFS_ERRORS(FFFS_ERR_CASE)
#undef FFFS_ERR_CASE
	default:
		break;
	}
	s = strerrordesc_np(err);
	return s ? s : "Unknown error";
}

_Noreturn void fffs_assert_fail(const char *expr, const char *file, int line,
				const char *func)
{
	log_emit(LOGL_ERROR, "assert", "assertion '%s' failed at %s:%d in %s()",
		 expr, file, line, func);
	abort();
}
