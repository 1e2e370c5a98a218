/* Hosts in network namespaces: a cluster across machines, on one machine.
 * The test makes its own hosts with `ip netns` (names celeriac-<pid>-*),
 * each joined by a veth pair to a bridge in a namespace of its own, with
 * addresses from 198.18.0.0/15; it never touches the machine's own
 * interfaces or routes:
 *   rabbit 198.18.0.1   a RabbitMQ node of its own
 *   a      198.18.0.2   workerd -c 2 -n worker@host-a
 *   b      198.18.0.3   workerd -c 2 -n worker@host-b
 *   prod   198.18.0.4   this process, once set up (setns)
 * Then:
 * - 2,000 `whoami` tasks spread over both worker hosts; each result names
 *   the host that ran it;
 * - host-a's workerd is SIGKILLed mid-run: every task still completes, on
 *   host-b;
 * - host-b's link is cut with no RST (its veth taken down): with a 2 s
 *   heartbeat the loss is seen within two intervals (workerd logs it),
 *   and the work queued meanwhile is done once the link is back.
 * The times are printed for the README. Everything it made goes at the
 * end, also on failure: the checks run in a child process and the parent
 * cleans up. Without root or `ip netns` it skips (exit 77). */
#define _GNU_SOURCE
#include <cel/producer.h>

#include "../examples/tasks.h"
#include "check.h"
#include "support/support.h"

#include <cel/clock.h>

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define TASKS   2000
#define WAIT_MS 60000
#define HB_S    2

static char ns_prefix[64], run_dir[128];
static int port;

static int sh(const char *fmt, ...) CEL_PRINTF(1, 2);

static int
sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    return system(cmd);
}

static void
must(const char *what, int status)
{
    if (status != 0) {
        CHECK_FAIL_("%s failed (status %d)", what, status);
    }
}

/* Host h (rabbit, a, b, prod) at 198.18.0.<n>, wired to the bridge. */
static void
make_host(const char *h, int n)
{
    const char *p = ns_prefix;

    must("ip netns add", sh("ip netns add %s-%s", p, h));
    must("veth", sh("ip -n %s-br link add name v-%s type veth peer name "
                    "eth0 netns %s-%s",
                    p, h, p, h));
    must("bridge port", sh("ip -n %s-br link set v-%s master br0 up", p, h));
    must("address", sh("ip -n %s-%s addr add 198.18.0.%d/24 dev eth0 && "
                       "ip -n %s-%s link set eth0 up && "
                       "ip -n %s-%s link set lo up",
                       p, h, n, p, h, p, h));
}

static void
make_hosts(void)
{
    const char *p = ns_prefix;

    must("bridge namespace", sh("ip netns add %s-br && ip -n %s-br link add "
                                "br0 type bridge && ip -n %s-br link set br0 "
                                "up && ip -n %s-br link set lo up",
                                p, p, p, p));
    make_host("rabbit", 1);
    make_host("a", 2);
    make_host("b", 3);
    make_host("prod", 4);
}

static void
start_broker(void)
{
    must("broker", sh("ip netns exec %s-rabbit env CELERIAC_BROKER_PORT=%d "
                      "CELERIAC_BROKER_BIND=0.0.0.0 CELERIAC_RUN_DIR=%s "
                      "%s/scripts/broker start >/dev/null",
                      ns_prefix, port, run_dir, CEL_SOURCE_DIR));
    must("broker user",
         sh("ip netns exec %s-rabbit env CELERIAC_BROKER_PORT=%d "
            "CELERIAC_RUN_DIR=%s %s/scripts/broker ctl add_user celeriac "
            "hosts-test >/dev/null && "
            "ip netns exec %s-rabbit env CELERIAC_BROKER_PORT=%d "
            "CELERIAC_RUN_DIR=%s %s/scripts/broker ctl set_permissions -p / "
            "celeriac '.*' '.*' '.*' >/dev/null",
            ns_prefix, port, run_dir, CEL_SOURCE_DIR, ns_prefix, port, run_dir,
            CEL_SOURCE_DIR));
}

static const char *
url(void)
{
    static char u[128];

    snprintf(u, sizeof(u), "amqp://celeriac:hosts-test@198.18.0.1:%d//", port);
    return u;
}

/* workerd on host h, its log in run_dir; returns the pid of `ip netns
 * exec`, which execs into workerd. */
static pid_t
start_worker(const char *h, const char *queue)
{
    char bin[512], lib[512], name[64], log[256], ns[96], hb[16];

    test_build_path("bin", "workerd", bin, sizeof(bin));
    test_build_path("lib", "libexample_tasks.so", lib, sizeof(lib));
    snprintf(name, sizeof(name), "worker@host-%s", h);
    snprintf(log, sizeof(log), "%s/worker-%s.log", run_dir, h);
    snprintf(ns, sizeof(ns), "%s-%s", ns_prefix, h);
    snprintf(hb, sizeof(hb), "%d", HB_S);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, STDERR_FILENO);
        }
        execlp("ip", "ip", "netns", "exec", ns, bin, "-A", lib, "-c", "2", "-n",
               name, "-Q", queue, "-b", url(), "--heartbeat", hb, "-l", "info",
               (char *)NULL);
        _exit(127);
    }
    return pid;
}

static void
enter_producer_host(void)
{
    char path[128];

    snprintf(path, sizeof(path), "/var/run/netns/%s-prod", ns_prefix);
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    CHECK(setns(fd, CLONE_NEWNET) == 0);
    close(fd);
}

typedef struct {
    int a, b, other, failed;
} tally_t;

static void
send_and_count(cel_client_t *c, int n, pid_t kill_after_100, tally_t *t)
{
    static cel_result_t *rs[TASKS];
    cel_error_t err = CEL_ERROR_INIT;

    for (int i = 0; i < n; i++) {
        json_t *v = json_integer(i);
        rs[i] = whoami_delay(c, v);
        json_decref(v);
        CHECK(rs[i] != NULL);
    }
    for (int i = 0; i < n; i++) {
        const json_t *v;
        if (i == 100 && kill_after_100 > 0) {
            kill(kill_after_100, SIGKILL); /* host-a goes, mid-run */
        }
        if (cel_result_get(rs[i], WAIT_MS, &v, &err) != 0) {
            t->failed++;
            fprintf(stderr, "task %d: %s\n", i, err.text);
        } else {
            const char *h = json_string_value(json_object_get(v, "hostname"));
            t->a += h && strcmp(h, "worker@host-a") == 0;
            t->b += h && strcmp(h, "worker@host-b") == 0;
            t->other += !h || (strcmp(h, "worker@host-a") != 0 &&
                               strcmp(h, "worker@host-b") != 0);
        }
        cel_result_free(rs[i]);
    }
}

static int64_t
wait_log(const char *h, const char *needle, int64_t since_ms)
{
    char log[256];

    snprintf(log, sizeof(log), "%s/worker-%s.log", run_dir, h);
    while (cel_clock_now_ms() - since_ms < WAIT_MS) {
        if (test_file_count(log, needle) > 0) {
            return cel_clock_now_ms() - since_ms;
        }
        cel_clock_sleep_ms(50, NULL);
    }
    CHECK_FAIL_("host-%s never logged \"%s\"", h, needle);
}

static void
checks(void)
{
    cel_client_opts_t co = CEL_CLIENT_OPTS_INIT;
    cel_error_t err = CEL_ERROR_INIT;
    char queue[96];
    cel_client_t *c;

    make_hosts();
    start_broker();
    test_unique_name("hosts", queue, sizeof(queue));
    pid_t a = start_worker("a", queue);
    pid_t b = start_worker("b", queue);
    enter_producer_host();
    co.queue = queue;
    co.broker_url = url();
    CHECK_OK(cel_client_open(&co, &c, &err));

    tally_t t = {0};
    send_and_count(c, TASKS, 0, &t);
    printf("%d tasks: %d on host-a, %d on host-b\n", TASKS, t.a, t.b);
    CHECK_EQ_INT(t.failed + t.other, 0);
    CHECK(t.a > 0 && t.b > 0);

    tally_t k = {0};
    int64_t t0 = cel_clock_now_ms();
    send_and_count(c, TASKS, a, &k);
    printf("host-a killed after 100 results: all %d done in %lld ms, %d "
           "of them on host-b\n",
           TASKS, (long long)(cel_clock_now_ms() - t0), k.b);
    CHECK_EQ_INT(k.failed + k.other, 0);
    waitpid(a, NULL, 0);

    /* Cut host-b's link: no RST, the packets just go nowhere. */
    int64_t cut = cel_clock_now_ms();
    must("cut", sh("ip -n %s-br link set v-b down", ns_prefix));
    cel_result_t *late[50];
    for (int i = 0; i < 50; i++) {
        late[i] = add_delay(c, i, i);
        CHECK(late[i] != NULL);
    }
    int64_t seen = wait_log("b", "heartbeat", cut);
    printf("link to host-b cut: loss seen after %lld ms (heartbeat %d s)\n",
           (long long)seen, HB_S);
    CHECK(seen <= (3 * HB_S + 2) * 1000); /* two intervals, and slack */
    int64_t back = cel_clock_now_ms();
    must("restore", sh("ip -n %s-br link set v-b up", ns_prefix));
    for (int i = 0; i < 50; i++) {
        const json_t *v;
        CHECK_OK(cel_result_get(late[i], WAIT_MS, &v, &err));
        CHECK_EQ_INT(json_integer_value(v), 2 * i);
        cel_result_free(late[i]);
    }
    printf("link back: the 50 tasks queued meanwhile done %lld ms later\n",
           (long long)(cel_clock_now_ms() - back));
    cel_client_close(c);
    kill(b, SIGTERM);
    waitpid(b, NULL, 0);
}

static void
cleanup(void)
{
    const char *p = ns_prefix;

    sh("for h in a b prod rabbit; do ip netns pids %s-$h 2>/dev/null | "
       "xargs -r kill -9; done",
       p);
    sh("ip netns exec %s-rabbit env CELERIAC_BROKER_PORT=%d "
       "CELERIAC_RUN_DIR=%s %s/scripts/broker stop >/dev/null 2>&1",
       p, port, run_dir, CEL_SOURCE_DIR);
    sh("for h in a b prod rabbit; do ip netns pids %s-$h 2>/dev/null | "
       "xargs -r kill -9; done",
       p);
    sh("for h in a b prod rabbit br; do ip netns del %s-$h 2>/dev/null; "
       "done",
       p);
    sh("rm -rf %s", run_dir);
}

int
main(void)
{
    if (geteuid() != 0 || sh("ip netns list >/dev/null 2>&1") != 0) {
        puts("skipped: needs root and `ip netns` to make its hosts");
        return 77;
    }
    /* Its node has a namespace of its own, but its name must be unique on
     * the machine (scripts/broker cleans stale nodes up by name). */
    const char *base = getenv("CELERIAC_BROKER_PORT");
    port = (base ? atoi(base) : 5672) + 4;
    snprintf(ns_prefix, sizeof(ns_prefix), "celeriac-%d", (int)getpid());
    snprintf(run_dir, sizeof(run_dir), "/tmp/celeriac-hosts-%d", (int)getpid());
    CHECK_EQ_INT(test_guarded(checks, cleanup), 0);
    puts("ok");
    return 0;
}
