/* The table of exporters. */
#include "export.h"

#include <string.h>

const struct exporter *const exporters[] = {
	&export_folded,
	&export_pprof,
	NULL,
};

const struct exporter *export_find(const char *name)
{
	for (size_t i = 0; exporters[i]; i++)
		if (strcmp(exporters[i]->name, name) == 0)
			return exporters[i];
	return NULL;
}
