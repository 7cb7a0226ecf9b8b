using System.CommandLine;
using LocalPort.Cli.Common;

namespace LocalPort.Cli.Commands;

/// <summary>`localport completion bash|zsh|fish`: scripts that ask the tool itself (System.CommandLine's [suggest] directive).</summary>
public static class CompletionCommand
{
    private const string Bash = """
        # localport bash completion: eval "$(localport completion bash)"
        _localport_complete() {
          local IFS=$'\n'
          COMPREPLY=($(compgen -W "$(localport "[suggest:${COMP_POINT}]" "${COMP_LINE}" 2>/dev/null)" -- "${COMP_WORDS[COMP_CWORD]}"))
        }
        complete -o default -F _localport_complete localport
        """;

    private const string Zsh = """
        # localport zsh completion: eval "$(localport completion zsh)"
        _localport_complete() {
          local -a completions
          completions=(${(f)"$(localport "[suggest:${#BUFFER}]" "$BUFFER" 2>/dev/null)"})
          compadd -- $completions
        }
        compdef _localport_complete localport
        """;

    private const string Fish = """
        # localport fish completion: localport completion fish | source
        complete -c localport -f -a '(localport "[suggest:"(string length -- (commandline -cp))"]" (commandline -cp) 2>/dev/null)'
        """;

    public static Command Create()
    {
        var shell = new Argument<string>("shell") { Description = "bash, zsh or fish" };
        shell.AcceptOnlyFromAmong("bash", "zsh", "fish");
        var command = new Command("completion", "Print a shell completion script (bash, zsh or fish)");
        command.Arguments.Add(shell);
        command.SetAction(parse =>
        {
            Console.WriteLine(parse.GetValue(shell) switch { "bash" => Bash, "zsh" => Zsh, _ => Fish });
            return ExitCodes.Ok;
        });
        return command;
    }
}
