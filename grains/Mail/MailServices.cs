using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace CloudDeck.Grains.Mail;

public static class MailServices
{
    /// <summary>The folder the embedded default writes email to when no SMTP server is configured.</summary>
    public static string MailFolder(string dataDirectory) => Path.Combine(Path.GetFullPath(dataDirectory), "mail");

    /// <summary>
    /// Email delivery from <c>CloudDeck:Email:*</c>: SMTP when <c>Smtp:Host</c> is set, otherwise the local mail folder.
    /// Validates the settings now, so a wrong one stops the process at start.
    /// </summary>
    /// <exception cref="InvalidOperationException">A setting is wrong; the message names it.</exception>
    public static IServiceCollection AddCloudDeckMail(this IServiceCollection services, IConfiguration configuration, string dataDirectory)
    {
        var options = configuration.GetSection(EmailOptions.Section).Get<EmailOptions>() ?? new EmailOptions();
        options.Validate();
        services.AddSingleton(options);
        services.TryAddSingleton(TimeProvider.System);
        if (options.UsesSmtp)
        {
            services.AddSingleton<IMailTransport>(new SmtpMailTransport(options));
        }
        else
        {
            var folder = MailFolder(dataDirectory);
            services.AddSingleton<IMailTransport>(provider => new MailFolderTransport(folder, provider.GetRequiredService<ILogger<MailFolderTransport>>()));
        }

        return services;
    }
}
