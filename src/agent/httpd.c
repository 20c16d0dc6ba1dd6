/* Minimal HTTP/1.x for the metrics endpoint (see httpd.h for why it is
 * hand-written). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "httpd.h"

static int parse_port(const char *s, unsigned *port)
{
	if (!*s || strlen(s) > 5)
		return -1;
	unsigned v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (unsigned)(*p - '0');
	}
	if (v > 65535)
		return -1;
	*port = v;
	return 0;
}

int httpd_parse_addr(const char *s, struct httpd_addr *out, char *why, size_t cap)
{
	char host[64];
	const char *port_s;
	memset(out, 0, sizeof(*out));
	if (!s || !*s) {
		snprintf(why, cap, "is empty (use PORT, HOST:PORT or [IPV6]:PORT)");
		return -1;
	}
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':' || (size_t)(close - s - 1) >= sizeof(host)) {
			snprintf(why, cap, "is not [IPV6]:PORT (e.g. [::1]:9464)");
			return -1;
		}
		memcpy(host, s + 1, (size_t)(close - s - 1));
		host[close - s - 1] = '\0';
		port_s = close + 2;
	} else if (strchr(s, ':')) {
		const char *colon = strrchr(s, ':');
		if ((size_t)(colon - s) >= sizeof(host) || strchr(s, ':') != colon) {
			snprintf(why, cap, "is not HOST:PORT (an IPv6 host goes in brackets: [::1]:9464)");
			return -1;
		}
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
		port_s = colon + 1;
	} else {
		snprintf(host, sizeof(host), "127.0.0.1");
		port_s = s;
	}
	unsigned port;
	if (parse_port(port_s, &port) != 0) {
		snprintf(why, cap, "has no valid port (a number from 0 to 65535; 0 picks a free one)");
		return -1;
	}
	if (!*host || !strcmp(host, "localhost"))
		snprintf(host, sizeof(host), "127.0.0.1");
	struct sockaddr_in *v4 = (struct sockaddr_in *)&out->ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&out->ss;
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
		out->len = sizeof(*v4);
	} else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		out->len = sizeof(*v6);
	} else {
		snprintf(why, cap, "has host '%s', which is not a numeric IPv4 or IPv6 address "
			 "(e.g. 127.0.0.1:9464, 0.0.0.0:9464 or [::1]:9464)", host);
		return -1;
	}
	return 0;
}

void httpd_addr_text(const struct httpd_addr *a, char *out, size_t cap)
{
	char host[INET6_ADDRSTRLEN] = "?";
	if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&a->ss;
		inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof(host));
		snprintf(out, cap, "[%s]:%u", host, ntohs(v6->sin6_port));
	} else {
		const struct sockaddr_in *v4 = (const struct sockaddr_in *)&a->ss;
		inet_ntop(AF_INET, &v4->sin_addr, host, sizeof(host));
		snprintf(out, cap, "%s:%u", host, ntohs(v4->sin_port));
	}
}

int httpd_listen(const struct httpd_addr *a, struct httpd_addr *bound)
{
	int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	/* A restarted program gets its port back despite TIME_WAIT. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) != 0 || listen(fd, 16) != 0) {
		int err = errno;
		close(fd);
		return -err;
	}
	*bound = *a;
	bound->len = sizeof(bound->ss);
	if (getsockname(fd, (struct sockaddr *)&bound->ss, &bound->len) != 0)
		*bound = *a;
	return fd;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Reads until the blank line ending the head, the buffer is full, or the
 * deadline; returns the bytes read. */
static size_t read_head(int fd, char *req, size_t cap, uint64_t deadline)
{
	size_t len = 0;
	while (len < cap - 1) {
		uint64_t now = now_ms();
		if (now >= deadline)
			break;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, (int)(deadline - now)) <= 0)
			break;
		ssize_t n = recv(fd, req + len, cap - 1 - len, 0);
		if (n <= 0)
			break;
		len += (size_t)n;
		req[len] = '\0';
		if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
			break;
	}
	req[len] = '\0';
	return len;
}

static void send_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return;
		}
		p += n;
		len -= (size_t)n;
	}
}

static void respond(int fd, const char *status, const char *type, const char *extra,
		    const char *body, size_t len, bool head_only)
{
	char head[512];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
			 "Connection: close\r\n\r\n",
			 status, type, len, extra);
	send_all(fd, head, (size_t)n);
	if (!head_only)
		send_all(fd, body, len);
}

/* The value of header `name` in the request head, copied into out. */
static void header(const char *req, const char *name, char *out, size_t cap)
{
	size_t nlen = strlen(name);
	out[0] = '\0';
	for (const char *line = strchr(req, '\n'); line; line = strchr(line, '\n')) {
		line++;
		if (!strncasecmp(line, name, nlen) && line[nlen] == ':') {
			const char *v = line + nlen + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			size_t n = strcspn(v, "\r\n");
			if (n >= cap)
				n = cap - 1;
			memcpy(out, v, n);
			out[n] = '\0';
			return;
		}
	}
}

static void answer(int fd, httpd_body_fn body, void *arg, char *buf, size_t cap)
{
	char req[HTTPD_REQUEST_MAX];
	size_t len = read_head(fd, req, sizeof(req), now_ms() + HTTPD_READ_TIMEOUT_MS);
	const char *text = "text/plain; charset=utf-8";
	if (!len)
		return; /* closed or timed out before saying anything */
	char method[16], target[256];
	if (sscanf(req, "%15s %255s", method, target) != 2) {
		static const char msg[] = "malformed request line\n";
		respond(fd, "400 Bad Request", text, "", msg, sizeof(msg) - 1, false);
		return;
	}
	bool head = !strcmp(method, "HEAD");
	size_t plen = strcspn(target, "?");
	if (plen != 8 || strncmp(target, "/metrics", 8)) {
		static const char msg[] = "not found: the metrics are at /metrics\n";
		respond(fd, "404 Not Found", text, "", msg, sizeof(msg) - 1, head);
		return;
	}
	if (strcmp(method, "GET") && !head) {
		static const char msg[] = "method not allowed: use GET\n";
		respond(fd, "405 Method Not Allowed", text, "Allow: GET, HEAD\r\n", msg,
			sizeof(msg) - 1, false);
		return;
	}
	char accept[512];
	header(req, "Accept", accept, sizeof(accept));
	enum expo_format fmt = expo_negotiate(accept);
	if (strstr(target + plen, "format=text"))
		fmt = EXPO_TEXT;
	size_t n = body(arg, fmt, buf, cap);
	respond(fd, "200 OK", expo_content_type(fmt), "", buf, n, head);
}

int httpd_serve_once(int lfd, int wake_fd, int timeout_ms, httpd_body_fn body, void *arg,
		     char *buf, size_t cap)
{
	struct pollfd p[2] = { { .fd = lfd, .events = POLLIN }, { .fd = wake_fd, .events = POLLIN } };
	int n = poll(p, wake_fd >= 0 ? 2 : 1, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	if (n == 0 || (wake_fd >= 0 && p[1].revents) || !(p[0].revents & POLLIN))
		return (p[0].revents & (POLLERR | POLLNVAL)) ? -EBADF : 0;
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return errno == EMFILE || errno == ENFILE || errno == EINTR ||
				       errno == ECONNABORTED || errno == EAGAIN
			       ? 0
			       : -errno;
	answer(fd, body, arg, buf, cap);
	close(fd);
	return 1;
}

long httpd_get(const struct httpd_addr *a, const char *accept, char *buf, size_t cap,
	       int timeout_ms)
{
	int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	if (connect(fd, (const struct sockaddr *)&a->ss, a->len) != 0 && errno != EINPROGRESS) {
		int err = errno;
		close(fd);
		return -err;
	}
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	int err = 0;
	socklen_t elen = sizeof(err);
	if (poll(&p, 1, timeout_ms) != 1 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 || err) {
		close(fd);
		return err ? -err : -ETIMEDOUT;
	}
	int fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	char req[640];
	int n = snprintf(req, sizeof(req),
			 "GET /metrics HTTP/1.1\r\nHost: oneprof\r\nAccept: %s\r\n"
			 "Connection: close\r\n\r\n",
			 accept ? accept : "*/*");
	send_all(fd, req, (size_t)n);
	size_t len = 0;
	while (len < cap - 1) {
		uint64_t now = now_ms();
		if (now >= deadline)
			break;
		p.events = POLLIN;
		if (poll(&p, 1, (int)(deadline - now)) <= 0)
			break;
		ssize_t r = recv(fd, buf + len, cap - 1 - len, 0);
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	buf[len] = '\0';
	if (strncmp(buf, "HTTP/1.", 7) || strncmp(buf + 8, " 200", 4))
		return -EPROTO;
	char *body = strstr(buf, "\r\n\r\n");
	if (!body)
		return -EPROTO;
	body += 4;
	len -= (size_t)(body - buf);
	memmove(buf, body, len + 1);
	return (long)len;
}
