// glibc pthreads on futexes: 8 threads summing under a mutex, a condition variable handing out
// work, pthread_join (CLONE_CHILD_CLEARTID + futex wake), a barrier, TLS, and a detached thread.
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NT 8
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static pthread_cond_t done_cv = PTHREAD_COND_INITIALIZER;
static long total;
static int next_item, items_left = 1000, finished;
static pthread_barrier_t bar;
static __thread long tls_counter = 100;
static __thread char tls_name[16];
static atomic_int phase_errors;
static int phase[NT];

static void *worker(void *arg) {
  int id = (int)(long)arg;
  snprintf(tls_name, sizeof tls_name, "worker-%d", id);
  // Phase 1: everyone adds its share under the mutex.
  for (int i = 0; i < 10000; i++) {
    pthread_mutex_lock(&mu);
    total += 1;
    pthread_mutex_unlock(&mu);
    tls_counter++;
  }
  // Phase 2: barrier, then check everyone finished phase 1.
  phase[id] = 1;
  int r = pthread_barrier_wait(&bar);
  for (int i = 0; i < NT; i++)
    if (phase[i] != 1) atomic_fetch_add(&phase_errors, 1);
  (void)r;
  // Phase 3: take numbered items from a queue guarded by a condition variable.
  long mine = 0;
  for (;;) {
    pthread_mutex_lock(&mu);
    while (next_item == 0 && items_left > 0) pthread_cond_wait(&cv, &mu);
    if (next_item == 0 && items_left == 0) {
      pthread_mutex_unlock(&mu);
      break;
    }
    mine += next_item;
    next_item = 0;
    pthread_cond_signal(&done_cv);
    pthread_mutex_unlock(&mu);
  }
  pthread_mutex_lock(&mu);
  finished++;
  pthread_mutex_unlock(&mu);
  if (tls_counter != 100 + 10000) return (void *)-1L;
  return (void *)mine;
}

static void *detached(void *arg) {
  (void)arg;
  return NULL;
}

int main(void) {
  pthread_t t[NT];
  pthread_barrier_init(&bar, NULL, NT);
  for (long i = 0; i < NT; i++)
    if (pthread_create(&t[i], NULL, worker, (void *)i) != 0) return 1;
  // Producer: items 1..1000, one at a time, each consumed before the next.
  for (int i = 1; i <= 1000; i++) {
    pthread_mutex_lock(&mu);
    while (next_item != 0) pthread_cond_wait(&done_cv, &mu);
    next_item = i;
    items_left--;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
  }
  pthread_mutex_lock(&mu);
  while (next_item != 0) pthread_cond_wait(&done_cv, &mu);
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
  long sum = 0;
  int bad = 0;
  for (int i = 0; i < NT; i++) {
    void *ret;
    if (pthread_join(t[i], &ret) != 0) return 2;
    if ((long)ret < 0) bad++;
    else sum += (long)ret;
  }
  printf("total=%ld (expect %d)\n", total, NT * 10000);
  printf("items sum=%ld (expect %d)\n", sum, 1000 * 1001 / 2);
  printf("finished=%d tls bad=%d barrier errors=%d\n", finished, bad, atomic_load(&phase_errors));
  printf("main tls_counter=%ld\n", tls_counter);
  pthread_t d;
  pthread_attr_t at;
  pthread_attr_init(&at);
  pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
  printf("detached create=%d\n", pthread_create(&d, &at, detached, NULL));
  // Join a thread that has certainly exited already.
  pthread_t q;
  pthread_create(&q, NULL, detached, NULL);
  usleep(20000);
  printf("late join=%d\n", pthread_join(q, NULL));
  return 0;
}
