#include <uv.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <netinet/tcp.h>

/* glibc declares accept4 only under _GNU_SOURCE; a non-blocking accepted socket in one call. */
extern int accept4(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags);
