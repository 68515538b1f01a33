/* net/proto.c - names and layouts of the messages listed in net/proto.h. */
#include "net/proto.h"

static const char *const names[MSG__MAX] = {
#define PROTO_NAME(id, name, layout) [id] = #name,
	PROTO_MESSAGES(PROTO_NAME)
#undef PROTO_NAME
};

static const char *const layouts[MSG__MAX] = {
#define PROTO_LAYOUT(id, name, layout) [id] = layout,
	PROTO_MESSAGES(PROTO_LAYOUT)
#undef PROTO_LAYOUT
};

const char *msg_name(unsigned type)
{
	return type < MSG__MAX ? names[type] : NULL;
}

const char *msg_layout(unsigned type)
{
	return type < MSG__MAX ? layouts[type] : NULL;
}
