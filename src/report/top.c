/* Top functions by flat and cumulative time (pprof's "top"). */
#include <stdint.h>
#include <stdlib.h>

#include "internal.h"

/* flat flat% sum% cum cum%, then two spaces before the name. */
#define STATS_COLS 44

void report_top(const struct profile *p, FILE *out, const struct report_options *o)
{
	struct report_graph g;
	report_graph_build(&g, p, o, false);
	size_t n;
	uint32_t *order = report_graph_order(&g, o->sort_cum, &n);
	size_t shown = o->nodecount && o->nodecount < n ? o->nodecount : n;
	fprintf(out, "\nShowing top %zu of %zu functions, sorted by %s time\n", shown, n,
		o->sort_cum ? "cumulative" : "flat");
	fprintf(out, "%s%10s %6s %6s %10s %6s  %s%s\n", report_c(o, RC_BOLD), "flat", "flat%", "sum%",
		"cum", "cum%", "function", report_c(o, RC_OFF));
	size_t room = report_name_room(o, STATS_COLS);
	uint64_t sum = 0;
	for (size_t i = 0; i < shown; i++) {
		uint32_t f = order[i];
		char flat[32], cum[32], fit[512];
		report_format_ns(flat, sizeof(flat), (double)g.fn[f].self_ns);
		report_format_ns(cum, sizeof(cum), (double)g.fn[f].total_ns);
		sum += g.fn[f].self_ns;
		bool hot = report_pct(g.fn[f].self_ns, g.total) >= 10.0;
		fprintf(out, "%10s %5.1f%% %5.1f%% %10s %5.1f%%  %s%s%s\n", flat,
			report_pct(g.fn[f].self_ns, g.total), report_pct(sum, g.total), cum,
			report_pct(g.fn[f].total_ns, g.total), hot ? report_c(o, RC_HOT) : "",
			report_fit(fit, sizeof(fit), p->functions[f].name, room),
			hot ? report_c(o, RC_OFF) : "");
	}
	free(order);
	report_graph_free(&g);
}
