namespace LocalPort.Core.Config;

/// <summary>Starter files written by <c>localport config init</c>.</summary>
public static class ConfigTemplates
{
    /// <summary>A commented localport.yaml that loads as is: one working TCP relay, an ssh tunnel to fill in, a kubectl example.</summary>
    public const string Init = """
        # localport.yaml: the port forwards LocalPort keeps alive.
        # Check it with `localport config validate`; run it with `localport run`.
        # Values may use environment variables: ${VAR}, ${VAR:default}; write $$ for a literal $.
        version: "1.0"

        # Merged into every service; a service's own keys win.
        defaults:
          health_check:
            type: tcp            # tcp | http | https | postgres | kafka | redis | exec
            interval: 10s        # numbers are seconds; 500ms, 2s, 1m also work
            timeout: 2s
            failure_threshold: 2 # consecutive failures before a restart
          restart_policy:
            max_attempts: 5      # 0 = retry forever
            initial_delay: 1s
            max_delay: 60s
            backoff_multiplier: 2.0

        services:
          # A plain TCP relay run inside LocalPort: localhost:8080 -> example.com:80.
          - name: web
            technology: tcp
            local_port: 8080
            remote_port: 80
            connection:
              host: example.com
            tags: [demo]
            health_check:
              type: http
              config:
                url: http://localhost:8080/
                expected_status_codes: [200, 404]
                headers:
                  Host: example.com

          # An ssh tunnel: localhost:5432 -> db.internal:5432 as seen from the bastion.
          # Fill in your server, then set enabled: true.
          - name: db-via-ssh
            technology: ssh
            local_port: 5432
            remote_port: 5432
            enabled: false
            connection:
              host: ${BASTION_HOST:bastion.example.com}
              user: ${USER:me}
              key_file: ~/.ssh/id_ed25519
              remote_host: db.internal
              # strict_host_key_checking: accept-new   # the default; never 'no'

        # A Kubernetes service through kubectl port-forward:
        #  - name: api
        #    technology: kubectl
        #    local_port: 9000
        #    remote_port: 80
        #    connection:
        #      resource_type: service   # service | pod | deployment | statefulset
        #      resource_name: api
        #      namespace: default
        #      context: my-cluster
        #    health_check:
        #      type: http
        #      config:
        #        url: http://localhost:9000/healthz

        # How long each shutdown phase may take.
        # shutdown:
        #   stop_new_work: 2s
        #   complete_current: 8s
        #   cancel_tasks: 15s
        #   force_cleanup: 5s
        """;
}
