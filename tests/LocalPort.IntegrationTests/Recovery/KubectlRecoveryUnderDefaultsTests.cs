using LocalPort.IntegrationTests.Fixtures;
using LocalPort.IntegrationTests.Kube;

namespace LocalPort.IntegrationTests.Recovery;

/// <summary>
/// Issue 10's kubectl scenario, tried as a new user would: no restart_policy, the real /usr/bin/kubectl against the
/// test Kubernetes API, and a rollout that replaces the pod behind `service/web` every 2 s while a client keeps using the port.
/// </summary>
public sealed class KubectlRecoveryUnderDefaultsTests(ITestOutputHelper output) : Scenario(output)
{
    private const string Service = "web";
    private static readonly TimeSpan Spacing = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan ClientPeriod = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan RecoveryBound = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task The_pod_behind_a_service_replaced_8_times_2s_apart_is_served_again_each_time_within_a_second_and_ends_running()
    {
        var lab = KubeLab.Start(this);
        var port = FreePort.Next();
        // A tcp check as quick as the ssh scenario's http one (the lab's pods are echo servers).
        var path = WriteConfig(NewUserYaml.File(Yaml.Kubectl(Service, port, 80, lab.Connection("service", Service),
            healthCheck: NewUserYaml.HealthCheck("tcp", TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1), 2))));
        var run = RunUntilRunning(path, [Service], TimeSpan.FromSeconds(20));
        Assert.True(await Traffic.EchoEventuallyAsync(port, TimeSpan.FromSeconds(10)), $"no echo through port {port} after start. {run.Describe()}");
        await using var client = ClientLoop.Echo(port, ClientPeriod, TimeSpan.FromSeconds(5));

        var pod = KubeLab.WebPod;
        var served = new List<double>();
        var runningTimes = new List<double>();
        var firstLine = run.StdoutCount;
        int? lastPid = null;
        var deadline = new Deadline(TimeSpan.FromSeconds(45), "8 pod replacements");
        var next = client.Now;
        for (var number = 1; number <= 8; number++)
        {
            if (next > client.Now) await Task.Delay(next - client.Now); // the scenario's own pacing: a replacement every 2 s
            // Between tunnels (a check may have restarted it) the rollout waits, bounded, for a running one.
            var running = await Poll.UntilAsync(() => Task.FromResult(run.Latest(Service) is { IsRunning: true, Pid: not null }),
                deadline.Bound(RecoveryBound));
            var current = run.Latest(Service);
            Assert.True(running, $"{Service} is not running before replacement #{number}: {current?.Raw}. {run.Describe()}");
            var oldPid = current!.Pid!.Value;
            var from = run.StdoutCount;
            var replacedAt = client.Now;
            var replacement = lab.Kube.ReplacePod(pod);
            // An exchange that started before the old pod was gone could still have been served by it.
            var goneAt = client.Now;
            next = replacedAt + Spacing;

            var bound = deadline.Bound(RecoveryBound);
            var line = await Blocking.Wait(() => run.TryWaitForLine(l => StatusLine.TryParse(l) is { Name: Service } s &&
                (s.State == "failed" || s.IsRunning && s.Pid is { } pid && pid != oldPid), bound, from));
            var back = line is null ? null : StatusLine.TryParse(line);
            var runningAfter = client.Now - replacedAt;
            var so = $"served again so far (ms): [{Figures.Milliseconds(served)}]";
            if (back is null)
                Assert.Fail($"replacement #{number} ({pod} -> {replacement}): no new kubectl running within {bound.TotalSeconds:0.#} s; {so}; " +
                            $"client: {client.Summary()}. {run.Describe()}");
            if (back.State == "failed")
                Assert.Fail($"replacement #{number} ({pod} -> {replacement}): the service went failed {runningAfter.TotalMilliseconds:0} ms later: {back.Raw}; " +
                            $"{so}; client: {client.Summary()}. {run.Describe()}");
            bound = deadline.Bound(RecoveryBound);
            var answer = await client.FirstAnswerAfterAsync(goneAt, bound);
            if (answer is null)
                Assert.Fail($"replacement #{number} ({pod} -> {replacement}): kubectl {back.Pid} runs but nothing echoed through the port within " +
                            $"{bound.TotalSeconds:0.#} s more; {so}; client: {client.Summary()}. {run.Describe()}");

            served.Add((answer.Value - replacedAt).TotalMilliseconds);
            runningTimes.Add(runningAfter.TotalMilliseconds);
            Output.WriteLine($"pod {pod} replaced by {replacement} (#{number}): kubectl {oldPid} -> {back.Pid} running after {runningAfter.TotalMilliseconds:0} ms, " +
                             $"served again after {served[^1]:0} ms (restarts={back.Restarts})");
            pod = replacement;
            lastPid = back.Pid;
            if (client.Now > next) next = client.Now;
        }
        var healthy = await Blocking.Wait(() => run.TryWaitForLine(l => StatusLine.TryParse(l) is { Name: Service, IsRunning: true, Healthy: true } s &&
            s.Pid == lastPid, TimeSpan.FromSeconds(5), firstLine));
        await client.StopAsync();

        var median = Figures.Median(served);
        var worst = served.Max();
        var end = run.Latest(Service)!;
        Output.WriteLine($"8 pod replacements, replace -> served again (ms): {Figures.Milliseconds(served)}; median {median:0} ms, max {worst:0} ms");
        Output.WriteLine($"replace -> new kubectl running (ms): {Figures.Milliseconds(runningTimes)}");
        Output.WriteLine($"client every {ClientPeriod.TotalMilliseconds:0} ms: {client.Summary()}");
        Output.WriteLine($"end: {end.Raw}");

        Assert.True(median < 1000, $"median {median:0} ms is not under 1 s: {Figures.Milliseconds(served)}. {run.Describe()}");
        Assert.True(worst < 2000, $"slowest {worst:0} ms is not under 2 s: {Figures.Milliseconds(served)}. {run.Describe()}");
        Assert.True(healthy is not null, $"kubectl {lastPid} was not reported running and healthy within 5 s of the last replacement. {run.Describe()}");
        Assert.True(end is { IsRunning: true, Healthy: true } && end.Pid == lastPid, $"the service does not end running and healthy: {end.Raw}");
    }
}
