using Scheduler.Client;
using Scheduler.Rest;

// The REST API as its own process: an Orleans client of the cluster ("Scheduler:Client": gateways or Redis), for a
// deployment that keeps the silos' ports private. Listens where ASPNETCORE_URLS says (default http://localhost:5000).
var builder = WebApplication.CreateBuilder(args);
builder.Services.AddSchedulerClient(builder.Configuration);
builder.Services.AddSchedulerRestApi(builder.Configuration);
var app = builder.Build();
app.UseSchedulerRestApi();
app.MapGet("/health", () => "Healthy: API process\n").AllowAnonymous();
app.MapSchedulerRestApi();
app.Run();
