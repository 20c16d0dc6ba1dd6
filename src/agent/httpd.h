/* The smallest HTTP server that Prometheus can scrape, and a client to
 * scrape it, for the agent's metrics endpoint and 'oneprof monitor'.
 *
 * Hand-written on purpose: the agent links only libc, pthread and zstd
 * (an HTTP library would come into every profiled program), and it needs
 * one request at a time, GET /metrics, answered with Connection: close.
 * Requests are read into the caller's bounded buffer with a read
 * timeout, so a slow or hostile client costs at most that long. Nothing
 * here allocates. */
#ifndef AGENT_HTTPD_H
#define AGENT_HTTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "expo.h"

/* An address as PORT, HOST:PORT or [IPV6]:PORT; HOST is numeric (or
 * "localhost"), absent means 127.0.0.1, and port 0 picks a free port. */
struct httpd_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/* 0, or -1 with the reason in why. */
int httpd_parse_addr(const char *s, struct httpd_addr *out, char *why, size_t cap);
/* "HOST:PORT" or "[HOST]:PORT". */
void httpd_addr_text(const struct httpd_addr *a, char *out, size_t cap);

/* A listening socket (close-on-exec), its bound address (the port chosen
 * for port 0) in *bound; -errno on failure. */
int httpd_listen(const struct httpd_addr *a, struct httpd_addr *bound);

/* Writes the exposition for fmt into buf (cap bytes); returns its length. */
typedef size_t (*httpd_body_fn)(void *arg, enum expo_format fmt, char *buf, size_t cap);

/* Request read limits: bytes of request head, and milliseconds to wait
 * for it. */
#define HTTPD_REQUEST_MAX 8192
#define HTTPD_READ_TIMEOUT_MS 2000

/* Waits at most timeout_ms for a connection on lfd (or for wake_fd, when
 * >= 0, to become readable) and answers it: GET or HEAD /metrics with
 * body(), other paths 404, other methods 405. `/metrics?format=text`
 * forces the text format whatever Accept says. buf (cap bytes) holds
 * the response body. Returns 1 when it answered, 0 on timeout or wake,
 * -errno when the listening socket failed. */
int httpd_serve_once(int lfd, int wake_fd, int timeout_ms, httpd_body_fn body, void *arg,
		     char *buf, size_t cap);

/* GET http://ADDR/metrics with the given Accept header: the body into buf
 * (NUL-terminated, cut to cap - 1), its length, or -errno (-EPROTO: not
 * a 200 answer). */
long httpd_get(const struct httpd_addr *a, const char *accept, char *buf, size_t cap,
	       int timeout_ms);

#endif
