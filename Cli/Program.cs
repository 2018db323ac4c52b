using var interrupted = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; interrupted.Cancel(); };
return await Scheduler.Cli.CliApp.RunAsync(args, Console.Out, Console.Error, interrupted.Token);
