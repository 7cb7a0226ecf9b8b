// The kernel's share of LocalPort's tcp health checks, without LocalPort: per check a probe connects to a listening
// port, a "relay" accepts and dials the upstream, 300 ms later the probe shuts down, the relay passes the half-close
// on, reads the upstream's, passes it back, and all three sockets close. 100 listeners (127.0.0.1:FIRST..FIRST+99),
// one round every 5 s (20 checks a second), one thread, blocking calls on loopback: no event loop, no thread hand-offs.
// With a fourth argument `dial`, only the upstream leg: what a check costs when the relay dials for it (a tcp check of a
// port LocalPort's own relay serves makes no loopback connection to that port).
//
//   gcc -O2 -o /tmp/check-floor bench/floor/check-floor.c
//   /tmp/check-floor UPSTREAM_PORT FIRST_PORT ROUNDS [dial] &    # an echo server must listen on 127.0.0.1:UPSTREAM_PORT
//   then utime+stime of that pid from /proc/PID/stat over a minute (README, "Where LocalPort loses": idle CPU)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SERVICES 100

static struct sockaddr_in loopback(int port)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((unsigned short)port);
    return a;
}

int main(int argc, char **argv)
{
    if (argc != 4 && !(argc == 5 && strcmp(argv[4], "dial") == 0)) {
        fprintf(stderr, "usage: %s UPSTREAM_PORT FIRST_PORT ROUNDS [dial]\n", argv[0]);
        return 2;
    }
    int upstream_port = atoi(argv[1]), first = atoi(argv[2]), rounds = atoi(argv[3]), dial_only = argc == 5;
    int listeners[SERVICES], probe[SERVICES], client[SERVICES], upstream[SERVICES];
    char byte[16];
    for (int i = 0; i < SERVICES; i++) {
        struct sockaddr_in a = loopback(first + i);
        int one = 1;
        listeners[i] = socket(AF_INET, SOCK_STREAM, 0);
        setsockopt(listeners[i], SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(listeners[i], (struct sockaddr *)&a, sizeof a) != 0 || listen(listeners[i], 512) != 0) { perror("bind"); return 1; }
    }
    struct sockaddr_in up = loopback(upstream_port);
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < SERVICES; i++) {
            struct sockaddr_in a = loopback(first + i);
            if (dial_only) {
                upstream[i] = socket(AF_INET, SOCK_STREAM, 0);
                if (connect(upstream[i], (struct sockaddr *)&up, sizeof up) != 0) { perror("upstream"); return 1; }
                continue;
            }
            probe[i] = socket(AF_INET, SOCK_STREAM, 0);
            if (connect(probe[i], (struct sockaddr *)&a, sizeof a) != 0) { perror("connect"); return 1; }
            client[i] = accept(listeners[i], NULL, NULL);
            upstream[i] = socket(AF_INET, SOCK_STREAM, 0);
            if (connect(upstream[i], (struct sockaddr *)&up, sizeof up) != 0) { perror("upstream"); return 1; }
        }
        usleep(300000);
        for (int i = 0; i < SERVICES; i++) {
            if (dial_only) {
                shutdown(upstream[i], SHUT_WR);
                recv(upstream[i], byte, sizeof byte, 0);
                close(upstream[i]);
                continue;
            }
            shutdown(probe[i], SHUT_RDWR);
            recv(client[i], byte, sizeof byte, 0);
            shutdown(upstream[i], SHUT_WR);
            recv(upstream[i], byte, sizeof byte, 0);
            shutdown(client[i], SHUT_WR);
            recv(probe[i], byte, sizeof byte, 0);
            close(probe[i]);
            close(client[i]);
            close(upstream[i]);
        }
        usleep(4700000);
    }
    return 0;
}
