# One shop as a Nomad periodic batch job: `posfeed run` at the shop's
# schedule, its config rendered into the task's local/ folder, its
# secrets from Nomad Variables into secrets/, its store on a host volume
# (declared on the client as host_volume "posfeed-acme"), its feeds to
# object storage ([publish]). The Kubernetes example
# (../kubernetes/shop-cronjob.yaml) does the same; reference:
# docs/many-shops.md.
#   nomad var put nomad/jobs/posfeed-acme client_secret=@client_secret \
#     s3_access_key=@s3_access_key s3_secret_key=@s3_secret_key
#   nomad job run posfeed-shop.nomad.hcl
job "posfeed-acme" {
  type        = "batch"
  datacenters = ["dc1"]

  periodic {
    # daily 03:30 shop time plus this shop's jitter, as generate.py
    # writes it for the Kubernetes example
    crons            = ["31 3 * * *"]
    time_zone        = "Europe/Amsterdam"
    # one run at a time per store (posfeed's store lock says the same)
    prohibit_overlap = true
  }

  group "run" {
    # a failed run leaves the last good feeds in place; the next
    # schedule tries again, so no retry storm against the POS API
    restart {
      attempts = 1
      delay    = "1m"
      interval = "1h"
      mode     = "fail"
    }

    reschedule {
      attempts  = 0
      unlimited = false
    }

    volume "store" {
      type      = "host"
      source    = "posfeed-acme"
      read_only = false
    }

    task "posfeed" {
      driver = "docker"
      # the image's unprivileged user (packaging/Dockerfile)
      user   = "10001:10001"

      config {
        image           = "registry.example.com/posfeed:latest"
        args            = ["-c", "/local/posfeed.conf", "run"]
        readonly_rootfs = true
      }

      env {
        TMPDIR = "/local"
      }

      # SIGTERM lets a sync finish its page or roll back
      kill_signal  = "SIGTERM"
      kill_timeout = "60s"

      volume_mount {
        volume      = "store"
        destination = "/var/lib/posfeed"
      }

      template {
        destination = "secrets/client_secret"
        perms       = "0400"
        data        = "{{ with nomadVar \"nomad/jobs/posfeed-acme\" }}{{ .client_secret }}{{ end }}"
      }

      template {
        destination = "secrets/s3_access_key"
        perms       = "0400"
        data        = "{{ with nomadVar \"nomad/jobs/posfeed-acme\" }}{{ .s3_access_key }}{{ end }}"
      }

      template {
        destination = "secrets/s3_secret_key"
        perms       = "0400"
        data        = "{{ with nomadVar \"nomad/jobs/posfeed-acme\" }}{{ .s3_secret_key }}{{ end }}"
      }

      template {
        destination = "local/posfeed.conf"
        data        = <<-CONF
          [shop]
          name = Acme Outdoor
          timezone = Europe/Amsterdam
          currency = EUR
          url = https://www.acme-outdoor.example
          store = /var/lib/posfeed/store.db
          feeds_dir = /var/lib/posfeed/feeds

          [source]
          type = lightspeed-retail
          account_id = 123456
          client_id = acme-posfeed
          client_secret_file = /secrets/client_secret
          ; rotated by posfeed at every run, so on the volume
          refresh_token_file = /var/lib/posfeed/refresh_token

          [sync]
          orders_lookback = 12 months
          include_variant_stock = yes
          schedule = daily 03:30

          [feed clerk-products]
          template = clerk-products
          output = clerk/products.json
          gzip = yes

          [feed google]
          template = google-shopping
          output = google.xml
          gzip = yes

          [publish]
          url = s3://acme-feeds/acme
          region = eu-central-1
          access_key_file = /secrets/s3_access_key
          secret_key_file = /secrets/s3_secret_key
          CONF
      }

      # measured peak RSS of `posfeed run`: 33 MB (1k products, 8 feeds),
      # 63 MB (10k, first run); MHz and MB
      resources {
        cpu        = 250
        memory     = 96
        memory_max = 256
      }
    }
  }
}
