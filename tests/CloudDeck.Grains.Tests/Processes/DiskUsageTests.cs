using CloudDeck.Grains.Sandbox;

namespace CloudDeck.Grains.Tests.Processes;

/// <summary>What the disk watch measures, and how often it may afford to.</summary>
public sealed class DiskUsageTests
{
    [Fact]
    public void Bytes_count_regular_files_in_every_folder_and_no_link_target()
    {
        var root = Directory.CreateTempSubdirectory("clouddeck-disk-usage-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(root, "a", "b"));
            File.WriteAllBytes(Path.Combine(root, "top"), new byte[1000]);
            File.WriteAllBytes(Path.Combine(root, "a", "b", "deep"), new byte[24]);
            File.CreateSymbolicLink(Path.Combine(root, "a", "to-top"), Path.Combine(root, "top"));
            Directory.CreateSymbolicLink(Path.Combine(root, "a", "to-usr"), "/usr");

            Assert.Equal(1024, DiskUsage.Bytes(root));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void A_walk_that_takes_longer_than_a_twentieth_of_the_period_pushes_the_next_one_out_to_twenty_times_its_length()
    {
        var period = TimeSpan.FromSeconds(2);

        Assert.Equal(period, DiskUsage.Pause(period, TimeSpan.FromMilliseconds(30)));
        Assert.Equal(period, DiskUsage.Pause(period, TimeSpan.FromMilliseconds(100)));
        Assert.Equal(TimeSpan.FromSeconds(10), DiskUsage.Pause(period, TimeSpan.FromMilliseconds(500)));
    }
}
