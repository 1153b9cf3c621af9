using CloudDeck.Testing;

namespace CloudDeck.Edge.Bench;

/// <summary>Debian's nginx serving the same directory: sendfile, open file cache, keep-alive, no access log.</summary>
internal static class NginxServer
{
    public static string? Binary => new[] { "/usr/sbin/nginx", "/usr/bin/nginx" }.FirstOrDefault(File.Exists);

    /// <param name="tls">
    /// With a port, certificate, key and protocols (nginx's <c>ssl_protocols</c>): that port serves the same files over HTTPS too.
    /// </param>
    public static async Task<ChildProcess> StartAsync(string workDirectory, string siteDirectory, int port, (int Port, string Certificate, string Key, string Protocols)? tls = null)
    {
        var root = Environment.UserName == "root" || Environment.GetEnvironmentVariable("USER") == "root" ? "user root;\n" : "";
        var https = tls is { } t
            ? $"listen 127.0.0.1:{t.Port} ssl;\n                ssl_certificate {t.Certificate};\n                ssl_certificate_key {t.Key};\n                ssl_protocols {t.Protocols};"
            : "";
        var config = Path.Combine(workDirectory, "nginx.conf");
        await File.WriteAllTextAsync(config, $$"""
            {{root}}worker_processes auto;
            daemon off;
            pid {{workDirectory}}/nginx.pid;
            error_log {{workDirectory}}/nginx-error.log warn;
            events { worker_connections 4096; }
            http {
              include /etc/nginx/mime.types;
              access_log off;
              sendfile on;
              tcp_nopush on;
              tcp_nodelay on;
              keepalive_requests 1000000;
              keepalive_timeout 75s;
              open_file_cache max=4096 inactive=60s;
              etag on;
              client_body_temp_path {{workDirectory}}/client_body;
              proxy_temp_path {{workDirectory}}/proxy;
              fastcgi_temp_path {{workDirectory}}/fastcgi;
              uwsgi_temp_path {{workDirectory}}/uwsgi;
              scgi_temp_path {{workDirectory}}/scgi;
              server {
                listen 127.0.0.1:{{port}};
                {{https}}
                root {{siteDirectory}};
                location / { try_files $uri $uri/ =404; }
              }
            }
            """);
        return ChildProcess.Start(Binary!, ["-c", config, "-p", workDirectory]);
    }
}
