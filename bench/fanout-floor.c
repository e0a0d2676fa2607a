// The kernel's floor under a fan-out delivery, without Node: what one write(2) of a `bytes`-byte
// frame to a loopback TCP socket costs the writing process. A forked reader holds the other ends and
// reads everything with epoll (a client's minimum work); the sender writes bursts of `burst` frames to
// distinct sockets (the fan-out bench's shape: 500 clients per gateway, one collector tick = a burst)
// at `rate` writes/s for `seconds`, and reports its own CPU (getrusage: user, system) per write.
//   gcc -O2 -o /tmp/fanout-floor bench/fanout-floor.c && /tmp/fanout-floor 500 50 300 4 5000 10000 15000
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static double cpu(double *user, double *sys) {
  struct rusage r;
  getrusage(RUSAGE_SELF, &r);
  *user = r.ru_utime.tv_sec + r.ru_utime.tv_usec / 1e6;
  *sys = r.ru_stime.tv_sec + r.ru_stime.tv_usec / 1e6;
  return *user + *sys;
}

int main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: %s sockets burst bytes seconds rate...\n", argv[0]);
    return 2;
  }
  int n = atoi(argv[1]), burst = atoi(argv[2]), size = atoi(argv[3]);
  double seconds = atof(argv[4]);
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK), .sin_port = 0};
  socklen_t al = sizeof a;
  if (bind(lfd, (struct sockaddr *)&a, sizeof a) || listen(lfd, 4096) || getsockname(lfd, (struct sockaddr *)&a, &al)) return perror("listen"), 1;
  pid_t reader = fork();
  if (reader == 0) {
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    struct epoll_event evs[256];
    char buf[65536];
    double end = now() + 3600;
    while (now() < end) {
      int k = epoll_wait(ep, evs, 256, 1000);
      for (int i = 0; i < k; i++) {
        if (evs[i].data.fd == lfd) {
          int c = accept(lfd, NULL, NULL);
          if (c < 0) continue;
          struct epoll_event e = {.events = EPOLLIN, .data.fd = c};
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &e);
        } else if (read(evs[i].data.fd, buf, sizeof buf) <= 0) {
          close(evs[i].data.fd);
        }
      }
    }
    _exit(0);
  }
  int *fds = calloc(n, sizeof(int));
  int one = 1;
  for (int i = 0; i < n; i++) {
    fds[i] = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fds[i], (struct sockaddr *)&a, sizeof a)) return perror("connect"), kill(reader, SIGKILL), 1;
    setsockopt(fds[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  usleep(300000);
  char *frame = malloc(size);
  memset(frame, 'a', size);
  printf("sockets %d, burst %d, %d B frames, %.0f s per rate\n", n, burst, size, seconds);
  for (int r = 5; r < argc; r++) {
    double rate = atof(argv[r]);
    double per = burst / rate;  // seconds between bursts
    long total = (long)(rate * seconds / burst);
    double u0, s0, u1, s1;
    cpu(&u0, &s0);
    double t0 = now();
    long writes = 0, next = 0;
    for (long b = 0; b < total; b++) {
      double due = t0 + b * per, wait = due - now();
      if (wait > 0) usleep((useconds_t)(wait * 1e6));
      for (int k = 0; k < burst; k++, writes++)
        if (write(fds[next++ % n], frame, size) != size) perror("write");
    }
    double elapsed = now() - t0;
    cpu(&u1, &s1);
    printf("%6.0f writes/s asked, %6.0f done: %5.2f us/write (user %.2f, sys %.2f), %.3f cores\n", rate, writes / elapsed,
           ((u1 - u0) + (s1 - s0)) * 1e6 / writes, (u1 - u0) * 1e6 / writes, (s1 - s0) * 1e6 / writes, ((u1 - u0) + (s1 - s0)) / elapsed);
    usleep(300000);
  }
  kill(reader, SIGKILL);
  waitpid(reader, NULL, 0);
  return 0;
}
