/* SO_LINGER as Linux's tcp_close does it (sk_stream_wait_close), over 127.0.0.1:
 * (1) linger {1,1} after 4 KiB to a peer whose kernel ACKs the FIN at once: close returns 0
 *     promptly and the peer reads the 4 KiB, then EOF;
 * (2) linger {1,2} while the peer (a shrunk SO_RCVBUF, never read) has a full receive window,
 *     so our FIN stays unsent: close sleeps the whole 2 s, then returns 0;
 * (3) linger {1,5} in the same state, interrupted by a signal after 1 s: close returns 0 early;
 * (4) exit(2) with linger {1,5} in the same state does not wait (it lingers in the background);
 * (5) linger {1,0}: close sends a reset and the peer's read fails with ECONNRESET. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

/* A listener on 127.0.0.1 (ephemeral port); rcvbuf > 0 shrinks the accepted sockets' buffer. */
static int listener(int rcvbuf) {
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (rcvbuf > 0) setsockopt(ls, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 4) < 0) {
    perror("listener");
    exit(1);
  }
  return ls;
}

static void pair(int ls, int *c, int *s) {
  struct sockaddr_in a;
  socklen_t l = sizeof a;
  getsockname(ls, (struct sockaddr *)&a, &l);
  *c = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(*c, (struct sockaddr *)&a, sizeof a) < 0) {
    perror("connect");
    exit(1);
  }
  *s = accept(ls, NULL, NULL);
  if (*s < 0) {
    perror("accept");
    exit(1);
  }
}

static int set_linger(int fd, int onoff, int secs) {
  struct linger lg = {onoff, secs};
  return setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
}

/* Non-blocking writes from c until EAGAIN: the peer (which never reads) closes its window. */
static long fill(int c) {
  static char buf[4096];
  long total = 0;
  int fl = fcntl(c, F_GETFL);
  fcntl(c, F_SETFL, fl | O_NONBLOCK);
  for (int idle = 0; idle < 20;) {
    ssize_t n = write(c, buf, sizeof buf);
    if (n > 0) {
      total += n;
      idle = 0;
    } else if (n < 0 && errno == EAGAIN) {
      /* Let loopback deliver what is in flight, then try again until nothing more fits. */
      usleep(10000);
      idle++;
    } else {
      perror("fill write");
      exit(1);
    }
  }
  fcntl(c, F_SETFL, fl);
  return total;
}

/* A connection whose client end c has unsent data and a peer with a zero window. */
static void stuck_pair(int *c, int *s, int *ls) {
  *ls = listener(2048);
  pair(*ls, c, s);
  int snd = 16384;
  setsockopt(*c, SOL_SOCKET, SO_SNDBUF, &snd, sizeof snd);
  long n = fill(*c);
  printf("  filled: %s\n", n > 0 ? "yes" : "no");
}

static void on_alarm(int sig) { (void)sig; }

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  signal(SIGPIPE, SIG_IGN);

  /* (1) */
  {
    int ls = listener(0), c, s;
    pair(ls, &c, &s);
    static char out[4096], in[8192];
    memset(out, 'x', sizeof out);
    printf("linger 1,1: write %zd\n", write(c, out, sizeof out));
    printf("linger 1,1: set %d\n", set_linger(c, 1, 1));
    double t0 = now();
    int r = close(c);
    double dt = now() - t0;
    printf("linger 1,1: close %d, prompt %s\n", r, dt < 0.5 ? "yes" : "no");
    long total = 0;
    ssize_t n;
    while ((n = read(s, in, sizeof in)) > 0) total += n;
    printf("linger 1,1: peer read %ld then %zd%s\n", total, n, n == 0 ? " (EOF)" : "");
    close(s);
    close(ls);
  }

  /* (2) */
  {
    int c, s, ls;
    printf("linger 1,2:\n");
    stuck_pair(&c, &s, &ls);
    printf("linger 1,2: set %d\n", set_linger(c, 1, 2));
    double t0 = now();
    int r = close(c);
    double dt = now() - t0;
    printf("linger 1,2: close %d, waited >= 1.9 s %s, < 4 s %s\n", r, dt >= 1.9 ? "yes" : "no",
           dt < 4 ? "yes" : "no");
    close(s);
    close(ls);
  }

  /* (3) */
  {
    int c, s, ls;
    printf("linger 1,5 + signal:\n");
    stuck_pair(&c, &s, &ls);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm; /* no SA_RESTART */
    sigaction(SIGALRM, &sa, NULL);
    printf("linger 1,5 + signal: set %d\n", set_linger(c, 1, 5));
    alarm(1);
    double t0 = now();
    int r = close(c);
    double dt = now() - t0;
    printf("linger 1,5 + signal: close %d (%s), waited >= 0.9 s %s, < 3 s %s\n", r,
           r < 0 ? strerror(errno) : "ok", dt >= 0.9 ? "yes" : "no", dt < 3 ? "yes" : "no");
    close(s);
    close(ls);
  }

  /* (4) */
  {
    double t0 = now();
    pid_t pid = fork();
    if (pid == 0) {
      int c, s, ls;
      stuck_pair(&c, &s, &ls);
      set_linger(c, 1, 5);
      _exit(0);
    }
    int st = -1;
    waitpid(pid, &st, 0);
    double dt = now() - t0;
    printf("exit with linger 1,5: status %d, prompt %s\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1,
           dt < 1.5 ? "yes" : "no");
  }

  /* (5) */
  {
    int ls = listener(0), c, s;
    pair(ls, &c, &s);
    printf("linger 1,0: write %zd\n", write(c, "abc", 3));
    printf("linger 1,0: set %d\n", set_linger(c, 1, 0));
    printf("linger 1,0: close %d\n", close(c));
    usleep(50000);
    char buf[16];
    ssize_t n = read(s, buf, sizeof buf);
    /* The 3 bytes may arrive before the reset; the next read sees it. */
    if (n > 0) n = read(s, buf, sizeof buf);
    printf("linger 1,0: peer read %zd %s\n", n, n < 0 ? strerror(errno) : "");
    close(s);
    close(ls);
  }
  printf("done\n");
  return 0;
}
