/* oneprof public C API.
 *
 * liboneprof.so is the in-process agent. Loaded with LD_PRELOAD (which
 * 'oneprof record' does), it samples every thread of the program and
 * writes a capture; its settings come from ONEPROF_* environment
 * variables (see doc/oneprof-record.md). The calls below let a program
 * that links it ask about the agent; spans, labels and counters join this
 * header as they are built. */
#ifndef ONEPROF_H
#define ONEPROF_H

#ifdef __cplusplus
extern "C" {
#endif

#define ONEPROF_VERSION_MAJOR 0
#define ONEPROF_VERSION_MINOR 1
#define ONEPROF_VERSION_PATCH 0
#define ONEPROF_VERSION_STRING "0.1.0"

#if defined(__GNUC__)
#define ONEPROF_API __attribute__((visibility("default")))
#else
#define ONEPROF_API
#endif

/* The version of the loaded agent, e.g. "0.1.0". */
ONEPROF_API const char *oneprof_version(void);

/* 1 when the agent is sampling this process, 0 when it is not (never
 * started, disabled by a bad setting, paused, or in a forked child with
 * ONEPROF_FOLLOW_FORK=0). */
ONEPROF_API int oneprof_is_active(void);

/* The path of the capture being written, or NULL when not active. The
 * string belongs to the agent. */
ONEPROF_API const char *oneprof_output_path(void);

/* Resume and pause sampling, e.g. to profile one window of a long-running
 * service. The agent starts sampling at once unless ONEPROF_PAUSED=1; the
 * toggle signal (ONEPROF_TOGGLE_SIGNAL) flips the same switch from outside.
 * While paused no timer runs. Return 0, or a negative errno value (-ESRCH:
 * the agent is not running in this process). Safe from any thread, not
 * from a signal handler. */
ONEPROF_API int oneprof_start(void);
ONEPROF_API int oneprof_stop(void);

#ifdef __cplusplus
}
#endif

#endif
