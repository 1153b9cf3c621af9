using System.Runtime.CompilerServices;

// The stream tests read a subscription's buffer level and call the log grain directly.
[assembly: InternalsVisibleTo("Actors.Extensions.Tests")]
