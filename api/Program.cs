using CloudDeck.Api.Endpoints;
using CloudDeck.Grains.Hosting;

var builder = WebApplication.CreateBuilder(args);

// Embedded mode: this process co-hosts the silo (SQLite under CloudDeck:DataDirectory).
builder.Services.AddCloudDeckSilo(builder.Configuration);
builder.Services.AddProblemDetails();
builder.Services.Configure<HostOptions>(options => options.ShutdownTimeout = TimeSpan.FromSeconds(45));

var app = builder.Build();
app.UseExceptionHandler();
app.UseStatusCodePages();

app.MapHealthEndpoints();
if (app.Configuration.GetValue<bool>("CloudDeck:Diagnostics:EnableProbe"))
{
    app.MapProbeEndpoints();
}

app.Run();

/// <summary>Lets WebApplicationFactory-based tests reach the entry point.</summary>
public partial class Program;
