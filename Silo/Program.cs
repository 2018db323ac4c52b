// Placeholder entry point so the skeleton builds; the silo's real start-up belongs to the hosting branch.
var builder = WebApplication.CreateBuilder(args);
var app = builder.Build();
await app.RunAsync();
