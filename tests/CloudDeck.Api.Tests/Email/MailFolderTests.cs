using System.Net;
using CloudDeck.Api.Tests.Accounts;
using CloudDeck.GrainInterfaces.Mail;
using MimeKit;

namespace CloudDeck.Api.Tests.Email;

/// <summary>The embedded default with no SMTP server: the installer is verified; later email waits in a folder only the platform's user reads.</summary>
public sealed class MailFolderTests : IAsyncDisposable
{
    private readonly InProcessApi _api = new();

    [Fact]
    public async Task Without_smtp_the_first_account_is_a_verified_operator_and_later_emails_go_to_a_mail_folder_only_its_owner_reads()
    {
        var operatorAccount = await _api.SignUpAndLoginAsync("ops@example.com");
        Assert.True((await _api.GetAsync("/api/v1/me", operatorAccount.AccessToken)).Expect(HttpStatusCode.OK)["email_verified"]!.GetValue<bool>());

        var ada = await _api.SignUpAndLoginAsync("ada@example.com");
        Assert.False((await _api.GetAsync("/api/v1/me", ada.AccessToken)).Expect(HttpStatusCode.OK)["email_verified"]!.GetValue<bool>());
        var folder = Path.Combine(_api.DataDirectory, "mail");
        var file = await WaitForFileAsync(folder, "ada@example.com");

        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(folder));
        }

        var message = await MimeMessage.LoadAsync(file, TestContext.Current.CancellationToken);
        var link = SmtpHost.LinkIn(message);
        var token = SmtpHost.TokenOf(link);
        // The operator is told where the file is, and nothing in the logs carries the link.
        Assert.Contains(_api.Logs.Lines, l => l.Contains(file, StringComparison.Ordinal) && l.Contains("ada@example.com", StringComparison.Ordinal));
        Assert.DoesNotContain(_api.Logs.Lines, l => l.Contains(token, StringComparison.Ordinal));

        (await _api.PostAsync("/api/v1/auth/verify-email", new { token })).Expect(HttpStatusCode.NoContent);
        await _api.LoginAsync(ada);
        Assert.True((await _api.GetAsync("/api/v1/me", ada.AccessToken)).Expect(HttpStatusCode.OK)["email_verified"]!.GetValue<bool>());
        var delivery = Assert.Single(await SmtpHost.DeliveriesAsync(_api, ada, OutboxKinds.EmailVerification));
        Assert.Equal("delivered", delivery["status"]!.GetValue<string>());
        Assert.Contains("mail folder", delivery["last_answer"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty(await SmtpHost.DeliveriesAsync(_api, operatorAccount, OutboxKinds.PasswordReset));
    }

    private static async Task<string> WaitForFileAsync(string folder, string recipient)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            if (Directory.Exists(folder))
            {
                foreach (var file in Directory.GetFiles(folder, "*.eml"))
                {
                    var text = await File.ReadAllTextAsync(file, TestContext.Current.CancellationToken);
                    if (text.Contains($"To: {recipient}", StringComparison.Ordinal)) return file;
                }
            }

            Assert.True(DateTime.UtcNow < deadline, $"No email to {recipient} in {folder}.");
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
    }

    public async ValueTask DisposeAsync() => await _api.DisposeAsync();
}
