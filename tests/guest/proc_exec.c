/* execve of a "#!" script and exec from a multi-threaded process (de_thread: the exec'ing
 * thread takes over the process's pid; the other threads are gone; close-on-exec; handlers
 * reset, ignored signals stay ignored).
 *
 * The script's interpreter is this program itself. qemu-user without binfmt_misc cannot
 * execve a riscv64 binary (ENOEXEC), so when a probe exec of ourselves fails, the interpreter
 * line names qemu-riscv64-static with this program as its argument — what binfmt_misc would
 * do; under labvisor the program is its own interpreter. Either way the interpreter runs
 * with argv = {self, script, args…}.
 * guest-cflags: -pthread
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define QEMU "/usr/bin/qemu-riscv64-static"
static char self[4096];
static int via_qemu;

static void exec_self(char **args) {
  /* args[0] is ignored: the program is always self. */
  if (!via_qemu) {
    args[0] = self;
    execv(self, args);
  } else {
    char *qargs[16] = {QEMU, self};
    int n = 2;
    for (int i = 1; args[i] && n < 15; i++) qargs[n++] = args[i];
    qargs[n] = NULL;
    execv(QEMU, qargs);
  }
  printf("exec failed: %s\n", strerror(errno));
  _exit(127);
}

static void *sleeper(void *arg) {
  (void)arg;
  for (;;) sleep(100);
  return NULL;
}

static char *stage2_args[6];

static void *exec_from_thread(void *arg) {
  (void)arg;
  exec_self(stage2_args);
  return NULL;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc >= 2 && strcmp(argv[1], "probe") == 0) _exit(0);
  if (argc >= 2 && strstr(argv[1], "/proc_exec_script.") != NULL) {
    /* Interpreter mode: argv[1] is the script. */
    printf("interpreter: argc=%d script-is-argv1=%d", argc, access(argv[1], R_OK) == 0);
    for (int i = 2; i < argc; i++) printf(" [%s]", argv[i]);
    printf("\n");
    return 3;
  }
  if (argc >= 2 && strcmp(argv[1], "after-thread-exec") == 0) {
    printf("after exec from a thread: same pid=%d\n", atoi(argv[2]) == getpid());
    /* The fd opened with O_CLOEXEC before exec is closed, the plain one is open. */
    printf("cloexec fd closed=%d plain fd open=%d\n", fcntl(atoi(argv[3]), F_GETFD) == -1 && errno == EBADF,
           fcntl(atoi(argv[4]), F_GETFD) >= 0);
    struct sigaction sa;
    sigaction(SIGUSR1, NULL, &sa);
    printf("caught signal reset to SIG_DFL=%d\n", sa.sa_handler == SIG_DFL);
    sigaction(SIGUSR2, NULL, &sa);
    printf("ignored signal still SIG_IGN=%d\n", sa.sa_handler == SIG_IGN);
    return 0;
  }
  if (argv[0][0] == '/') snprintf(self, sizeof self, "%s", argv[0]);
  else {
    char cwd[2048];
    getcwd(cwd, sizeof cwd);
    snprintf(self, sizeof self, "%s/%s", cwd, argv[0]);
  }
  pid_t p = fork();
  if (p == 0) {
    char *args[] = {self, "probe", NULL};
    execv(self, args);
    _exit(errno == ENOEXEC ? 1 : 2);
  }
  int st;
  waitpid(p, &st, 0);
  via_qemu = WEXITSTATUS(st) == 1 && access(QEMU, X_OK) == 0;

  /* 1. A script run through execve: its interpreter gets the script path and the arguments. */
  char script[64];
  snprintf(script, sizeof script, "/tmp/proc_exec_script.%d", (int)getpid());
  FILE *f = fopen(script, "w");
  if (via_qemu) fprintf(f, "#!%s %s\n", QEMU, self);
  else fprintf(f, "#!%s\n", self);
  fprintf(f, "this line is never run\n");
  fclose(f);
  chmod(script, 0755);
  p = fork();
  if (p == 0) {
    char *args[] = {script, "one", "two words", "", NULL};
    execv(script, args);
    printf("script exec failed: %s\n", strerror(errno));
    _exit(127);
  }
  waitpid(p, &st, 0);
  printf("script status: %d\n", WEXITSTATUS(st));
  /* A script that is not executable, and one whose interpreter is missing. */
  chmod(script, 0644);
  errno = 0;
  execl(script, script, NULL);
  printf("non-executable script: %s\n", strerror(errno));
  f = fopen(script, "w");
  fprintf(f, "#!/nonexistent/interpreter\n");
  fclose(f);
  chmod(script, 0755);
  errno = 0;
  execl(script, script, NULL);
  printf("missing interpreter: %s\n", strerror(errno));
  unlink(script);

  /* 2. exec from a thread while another thread sleeps. */
  p = fork();
  if (p == 0) {
    int cfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int pfd = open("/dev/null", O_RDONLY);
    struct sigaction sa = {0};
    sa.sa_handler = (void (*)(int))exec_self; /* any non-default handler */
    sigaction(SIGUSR1, &sa, NULL);
    signal(SIGUSR2, SIG_IGN);
    char c[16], pbuf[16];
    snprintf(c, sizeof c, "%d", cfd);
    snprintf(pbuf, sizeof pbuf, "%d", pfd);
    /* A second thread execs while the main thread and a third one sleep. */
    static char pidbuf[32];
    snprintf(pidbuf, sizeof pidbuf, "%d", (int)getpid());
    stage2_args[0] = "x";
    stage2_args[1] = "after-thread-exec";
    stage2_args[2] = pidbuf;
    stage2_args[3] = c;
    stage2_args[4] = pbuf;
    stage2_args[5] = NULL;
    pthread_t t1, t2;
    pthread_create(&t1, NULL, sleeper, NULL);
    pthread_create(&t2, NULL, exec_from_thread, NULL);
    for (;;) sleep(100);
  }
  waitpid(p, &st, 0);
  printf("threaded exec child: exited=%d status=%d\n", WIFEXITED(st), WEXITSTATUS(st));
  return 0;
}
