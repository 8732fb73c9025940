variables {
  s3_hostname = "s3.example.com"
  edge_fleets = { "us-east-1" = ["e1:443", "e2:443"], "eu-west-1" = ["e3:443"] }
  anycast_ips = ["192.0.2.10", "198.51.100.10"]
}

run "front_door" {
  command = plan
  assert {
    condition     = output.s3_endpoint == "https://s3.example.com"
    error_message = "endpoint"
  }
  assert {
    condition     = length(output.dns_records) == 4 && output.dns_records[2].name == "*.s3.example.com"
    error_message = "dns: apex and wildcard per anycast address"
  }
  assert {
    condition     = output.endpoint_groups["eu-west-1"].traffic_dial == 100 && join(",", output.endpoint_groups["us-east-1"].endpoints) == "e1:443,e2:443"
    error_message = "endpoint groups"
  }
}

run "bad_hostname" {
  command = plan
  variables {
    s3_hostname = "not a host"
  }
  expect_failures = [var.s3_hostname]
}

run "cannot_drain_everything" {
  command = plan
  variables {
    traffic_dial = { "us-east-1" = 0, "eu-west-1" = 0 }
  }
  expect_failures = [terraform_data.front_door]
}

run "dial_unknown_region" {
  command = plan
  variables {
    traffic_dial = { "ap-south-1" = 50 }
  }
  expect_failures = [terraform_data.front_door]
}
