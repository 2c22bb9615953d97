/* A shared library that forgot the entry symbol: the host must refuse it and keep serving. */
#include <ava_plugin.h>

AVA_PLUGIN_EXPORT int not_the_entry_point(void) { return 42; }
