using CloudDeck.Grains.Mail;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace CloudDeck.Grains.Tests.Mail;

public sealed class EmailOptionsTests
{
    [Theory]
    [InlineData("Port", "0", "CloudDeck:Email:Smtp:Port must be a TCP port")]
    [InlineData("Security", "ssl", "CloudDeck:Email:Smtp:Security must be None, StartTls or Tls")]
    [InlineData("From", "not an address", "CloudDeck:Email:Smtp:From must be the sender's address")]
    [InlineData("Username", "mailer", "CloudDeck:Email:Smtp:Password and Smtp:Username must be set together")]
    public void A_wrong_smtp_setting_stops_the_start_naming_the_setting(string setting, string value, string expected)
    {
        var settings = new Dictionary<string, string?>
        {
            ["CloudDeck:Email:Smtp:Host"] = "smtp.example.com",
            ["CloudDeck:Email:Smtp:From"] = "CloudDeck <noreply@example.com>",
            [$"CloudDeck:Email:Smtp:{setting}"] = value,
        };

        var refused = Assert.Throws<InvalidOperationException>(() => Add(settings));

        Assert.StartsWith(expected, refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Smtp_settings_choose_smtp_and_none_choose_the_mail_folder_under_the_data_directory()
    {
        var smtp = Add(new Dictionary<string, string?>
        {
            ["CloudDeck:Email:Smtp:Host"] = "smtp.example.com",
            ["CloudDeck:Email:Smtp:Port"] = "465",
            ["CloudDeck:Email:Smtp:Security"] = "tls",
            ["CloudDeck:Email:Smtp:Username"] = "mailer",
            ["CloudDeck:Email:Smtp:Password"] = "secret",
            ["CloudDeck:Email:Smtp:From"] = "CloudDeck <noreply@example.com>",
        });
        Assert.IsType<SmtpMailTransport>(smtp.GetRequiredService<IMailTransport>());
        Assert.Equal(MailKit.Security.SecureSocketOptions.SslOnConnect, smtp.GetRequiredService<EmailOptions>().Smtp.SecurityMode);

        var folder = Assert.IsType<MailFolderTransport>(Add(new Dictionary<string, string?>()).GetRequiredService<IMailTransport>());
        Assert.Equal(Path.Combine(Path.GetFullPath("/data"), "mail"), folder.Folder);
    }

    private static ServiceProvider Add(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        return new ServiceCollection().AddLogging().AddCloudDeckMail(configuration, "/data").BuildServiceProvider();
    }
}
