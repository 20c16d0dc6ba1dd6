/* The table of exporters. */
#include "export.h"

#include <string.h>

#include "../util/util.h"

const struct exporter *const exporters[] = {
	&export_folded,
	&export_pprof,
	&export_svg,
	NULL,
};

const struct exporter *export_find(const char *name)
{
	for (size_t i = 0; exporters[i]; i++)
		if (strcmp(exporters[i]->name, name) == 0)
			return exporters[i];
	return NULL;
}

uint64_t *export_stack_counts(const struct profile *p)
{
	uint64_t *counts = xcalloc(p->nstacks ? p->nstacks : 1, sizeof(uint64_t));
	for (size_t i = 0; i < p->nsamples; i++)
		if (p->samples[i].stack < p->nstacks)
			counts[p->samples[i].stack] += p->samples[i].count;
	return counts;
}
