locals {
  alb_dimensions = {
    LoadBalancer = var.alb_arn_suffix
  }

  target_dimensions = {
    LoadBalancer = var.alb_arn_suffix
    TargetGroup  = var.target_group_arn_suffix
  }

  service_dimensions = {
    ClusterName = var.cluster_name
    ServiceName = var.service_name
  }

  db_dimensions = {
    DBInstanceIdentifier = var.db_instance_id
  }

  # Runbook "Alerting Contacts": critical -> PagerDuty, high and medium ->
  # Slack #alerts, low -> email.
  default_severity = {
    "no-healthy-hosts" = "critical"
    "high-error-rate"  = "high"
    "high-latency"     = "high"
    "unhealthy-hosts"  = "high"
    "high-cpu"         = "medium"
    "high-memory"      = "medium"
    "low-requests"     = "low"
    # Beyond the runbook's first table: answers the load balancer gave itself
    # (502/503/504), and the database.
    "elb-5xx"             = "high"
    "db-low-storage"      = "high"
    "db-high-cpu"         = "medium"
    "db-high-connections" = "medium"
  }

  severity = merge(local.default_severity, var.alarm_severity)

  topic_arn = { for s, t in aws_sns_topic.alerts : s => t.arn }

  alarm_actions = { for alarm, s in local.severity : alarm => [local.topic_arn[s]] }
}

################################################################ SNS, one topic per severity

resource "aws_sns_topic" "alerts" {
  for_each = toset(["critical", "high", "medium", "low"])

  name = "${var.name}-alerts-${each.key}"
  tags = merge(var.tags, { Severity = each.key })
}

data "aws_iam_policy_document" "alerts" {
  for_each = aws_sns_topic.alerts

  statement {
    sid       = "CloudWatchAlarms"
    actions   = ["sns:Publish"]
    resources = [each.value.arn]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
  }
}

resource "aws_sns_topic_policy" "alerts" {
  for_each = aws_sns_topic.alerts

  arn    = each.value.arn
  policy = data.aws_iam_policy_document.alerts[each.key].json
}

resource "aws_sns_topic_subscription" "pagerduty" {
  # Whether an endpoint is set is not secret; the endpoint is (nonsensitive:
  # Terraform refuses a sensitive value in count and for_each).
  count = nonsensitive(var.pagerduty_endpoint != "") ? 1 : 0

  topic_arn              = aws_sns_topic.alerts["critical"].arn
  protocol               = "https"
  endpoint               = var.pagerduty_endpoint
  endpoint_auto_confirms = true
}

resource "aws_sns_topic_subscription" "slack" {
  for_each = nonsensitive(var.slack_endpoint != "") ? toset(["high", "medium"]) : toset([])

  topic_arn              = aws_sns_topic.alerts[each.key].arn
  protocol               = "https"
  endpoint               = var.slack_endpoint
  endpoint_auto_confirms = true
}

resource "aws_sns_topic_subscription" "email" {
  for_each = toset(var.alert_emails)

  topic_arn = aws_sns_topic.alerts["low"].arn
  protocol  = "email"
  endpoint  = each.value
}

################################################################ alarms

resource "aws_cloudwatch_metric_alarm" "high_error_rate" {
  alarm_name          = "${var.name}-high-error-rate"
  alarm_description   = "Target 5xx responses above ${var.error_rate_threshold_percent}% of requests. Runbook: Issue: High Error Rate."
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.error_rate_threshold_percent
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions["high-error-rate"]
  ok_actions          = local.alarm_actions["high-error-rate"]
  tags                = var.tags

  metric_query {
    id          = "error_rate"
    expression  = "IF(requests > 0, 100 * FILL(errors, 0) / requests, 0)"
    label       = "5xx error rate (%)"
    return_data = true
  }

  metric_query {
    id = "errors"

    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "HTTPCode_Target_5XX_Count"
      dimensions  = local.target_dimensions
      period      = 60
      stat        = "Sum"
    }
  }

  metric_query {
    id = "requests"

    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "RequestCount"
      dimensions  = local.target_dimensions
      period      = 60
      stat        = "Sum"
    }
  }
}

# 502/503/504 the load balancer answered itself, which the service never saw
# and the error-rate alarm (target 5xx) cannot count: a target that closed a
# kept-alive connection the ALB reused (502; the reason the ALB's idle timeout
# stays below the service's), a target that did not answer in time (504), no
# healthy target (503). Share of the requests the load balancer handled; the
# denominator adds the ELB 5xx to RequestCount because RequestCount leaves out
# requests rejected before a target was chosen (it may count a 502 twice,
# which only understates the rate).
resource "aws_cloudwatch_metric_alarm" "elb_5xx" {
  alarm_name          = "${var.name}-elb-5xx"
  alarm_description   = "Load balancer 5xx (HTTPCode_ELB_5XX_Count) above ${var.elb_5xx_threshold_percent}% of requests. Runbook: Issue: Load Balancer 5xx."
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.elb_5xx_threshold_percent
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions["elb-5xx"]
  ok_actions          = local.alarm_actions["elb-5xx"]
  tags                = var.tags

  metric_query {
    id          = "elb_error_rate"
    expression  = "IF(FILL(elb_errors, 0) > 0, 100 * FILL(elb_errors, 0) / (FILL(requests, 0) + FILL(elb_errors, 0)), 0)"
    label       = "Load balancer 5xx rate (%)"
    return_data = true
  }

  metric_query {
    id = "elb_errors"

    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "HTTPCode_ELB_5XX_Count"
      dimensions  = local.alb_dimensions
      period      = 60
      stat        = "Sum"
    }
  }

  metric_query {
    id = "requests"

    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "RequestCount"
      dimensions  = local.alb_dimensions
      period      = 60
      stat        = "Sum"
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "high_latency" {
  alarm_name          = "${var.name}-high-latency"
  alarm_description   = "p95 target response time above ${var.latency_p95_threshold_seconds} s. Runbook: Issue: High Latency."
  namespace           = "AWS/ApplicationELB"
  metric_name         = "TargetResponseTime"
  dimensions          = local.target_dimensions
  extended_statistic  = "p95"
  period              = 60
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.latency_p95_threshold_seconds
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions["high-latency"]
  ok_actions          = local.alarm_actions["high-latency"]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "unhealthy_hosts" {
  alarm_name          = "${var.name}-unhealthy-hosts"
  alarm_description   = "At least one target failing the /health check. Runbook: Issue: Unhealthy Hosts."
  namespace           = "AWS/ApplicationELB"
  metric_name         = "UnHealthyHostCount"
  dimensions          = local.target_dimensions
  statistic           = "Maximum"
  period              = 60
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  evaluation_periods  = 3
  datapoints_to_alarm = 3
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions["unhealthy-hosts"]
  ok_actions          = local.alarm_actions["unhealthy-hosts"]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "no_healthy_hosts" {
  alarm_name          = "${var.name}-no-healthy-hosts"
  alarm_description   = "No target passes the /health check: the service is down. Runbook: Issue: Unhealthy Hosts."
  namespace           = "AWS/ApplicationELB"
  metric_name         = "HealthyHostCount"
  dimensions          = local.target_dimensions
  statistic           = "Minimum"
  period              = 60
  comparison_operator = "LessThanThreshold"
  threshold           = 1
  evaluation_periods  = 2
  datapoints_to_alarm = 2
  treat_missing_data  = "breaching"
  alarm_actions       = local.alarm_actions["no-healthy-hosts"]
  ok_actions          = local.alarm_actions["no-healthy-hosts"]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "low_requests" {
  alarm_name          = "${var.name}-low-requests"
  alarm_description   = "Fewer than ${var.low_requests_threshold} requests in 15 minutes. Runbook: Issue: No Traffic / Zero Requests."
  namespace           = "AWS/ApplicationELB"
  metric_name         = "RequestCount"
  dimensions          = local.alb_dimensions
  statistic           = "Sum"
  period              = 900
  comparison_operator = "LessThanThreshold"
  threshold           = var.low_requests_threshold
  evaluation_periods  = 1
  treat_missing_data  = "breaching"
  alarm_actions       = local.alarm_actions["low-requests"]
  ok_actions          = local.alarm_actions["low-requests"]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "high_cpu" {
  alarm_name          = "${var.name}-high-cpu"
  alarm_description   = "Service CPU above ${var.cpu_threshold_percent}%. Runbook: Issue: High Latency (resource utilization)."
  namespace           = "AWS/ECS"
  metric_name         = "CPUUtilization"
  dimensions          = local.service_dimensions
  statistic           = "Average"
  period              = 60
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.cpu_threshold_percent
  evaluation_periods  = 10
  datapoints_to_alarm = 8
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions["high-cpu"]
  ok_actions          = local.alarm_actions["high-cpu"]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "high_memory" {
  alarm_name          = "${var.name}-high-memory"
  alarm_description   = "Service memory above ${var.memory_threshold_percent}%. Runbook: Issue: High Latency (resource utilization)."
  namespace           = "AWS/ECS"
  metric_name         = "MemoryUtilization"
  dimensions          = local.service_dimensions
  statistic           = "Average"
  period              = 60
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.memory_threshold_percent
  evaluation_periods  = 10
  datapoints_to_alarm = 8
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions["high-memory"]
  ok_actions          = local.alarm_actions["high-memory"]
  tags                = var.tags
}

################################################################ database alarms

# The RDS instance has no read replica (Multi-AZ in prod keeps a standby that
# serves no reads and reports no ReplicaLag), so there is no replica-lag alarm.

resource "aws_cloudwatch_metric_alarm" "db_high_cpu" {
  alarm_name          = "${var.name}-db-high-cpu"
  alarm_description   = "Database CPU above ${var.db_cpu_threshold_percent}%. Runbook: Issue: Database Alarms."
  namespace           = "AWS/RDS"
  metric_name         = "CPUUtilization"
  dimensions          = local.db_dimensions
  statistic           = "Average"
  period              = 60
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.db_cpu_threshold_percent
  evaluation_periods  = 10
  datapoints_to_alarm = 8
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions["db-high-cpu"]
  ok_actions          = local.alarm_actions["db-high-cpu"]
  tags                = var.tags
}

# Storage autoscaling grows the volume when less than 10% is free (up to
# max_allocated_storage, at most every 6 hours): this fires when it has not
# kept up or has reached its limit.
resource "aws_cloudwatch_metric_alarm" "db_low_storage" {
  alarm_name          = "${var.name}-db-low-storage"
  alarm_description   = "Database free storage below ${var.db_free_storage_threshold_bytes} bytes. Runbook: Issue: Database Alarms."
  namespace           = "AWS/RDS"
  metric_name         = "FreeStorageSpace"
  dimensions          = local.db_dimensions
  statistic           = "Minimum"
  period              = 300
  comparison_operator = "LessThanThreshold"
  threshold           = var.db_free_storage_threshold_bytes
  evaluation_periods  = 3
  datapoints_to_alarm = 3
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions["db-low-storage"]
  ok_actions          = local.alarm_actions["db-low-storage"]
  tags                = var.tags
}

# Each task holds two connections (the writer's and the reader's), twice as
# many tasks run during a deploy; more than that means a leak or clients other
# than the service, well before PostgreSQL's max_connections refuses anyone.
resource "aws_cloudwatch_metric_alarm" "db_high_connections" {
  alarm_name          = "${var.name}-db-high-connections"
  alarm_description   = "More than ${var.db_connections_threshold} database connections. Runbook: Issue: Database Alarms."
  namespace           = "AWS/RDS"
  metric_name         = "DatabaseConnections"
  dimensions          = local.db_dimensions
  statistic           = "Maximum"
  period              = 60
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.db_connections_threshold
  evaluation_periods  = 10
  datapoints_to_alarm = 8
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions["db-high-connections"]
  ok_actions          = local.alarm_actions["db-high-connections"]
  tags                = var.tags
}

################################################################ dashboard

locals {
  # Every alarm, most urgent first (dashboard and output alarm_names).
  alarms = [
    aws_cloudwatch_metric_alarm.no_healthy_hosts,
    aws_cloudwatch_metric_alarm.high_error_rate,
    aws_cloudwatch_metric_alarm.elb_5xx,
    aws_cloudwatch_metric_alarm.high_latency,
    aws_cloudwatch_metric_alarm.unhealthy_hosts,
    aws_cloudwatch_metric_alarm.db_low_storage,
    aws_cloudwatch_metric_alarm.high_cpu,
    aws_cloudwatch_metric_alarm.high_memory,
    aws_cloudwatch_metric_alarm.db_high_cpu,
    aws_cloudwatch_metric_alarm.db_high_connections,
    aws_cloudwatch_metric_alarm.low_requests,
  ]
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = var.name

  dashboard_body = jsonencode({
    widgets = [
      {
        type   = "metric"
        x      = 0
        y      = 0
        width  = 12
        height = 6
        properties = {
          title  = "Requests and 5xx"
          region = var.aws_region
          stat   = "Sum"
          period = 60
          view   = "timeSeries"
          metrics = [
            ["AWS/ApplicationELB", "RequestCount", "LoadBalancer", var.alb_arn_suffix, "TargetGroup", var.target_group_arn_suffix],
            [".", "HTTPCode_Target_5XX_Count", ".", ".", ".", "."],
            [".", "HTTPCode_Target_4XX_Count", ".", ".", ".", "."],
            [".", "HTTPCode_ELB_5XX_Count", "LoadBalancer", var.alb_arn_suffix],
          ]
        }
      },
      {
        type   = "metric"
        x      = 12
        y      = 0
        width  = 12
        height = 6
        properties = {
          title  = "Target response time (s)"
          region = var.aws_region
          period = 60
          view   = "timeSeries"
          metrics = [
            ["AWS/ApplicationELB", "TargetResponseTime", "LoadBalancer", var.alb_arn_suffix, "TargetGroup", var.target_group_arn_suffix, { stat = "p50" }],
            ["...", { stat = "p95" }],
            ["...", { stat = "p99" }],
          ]
          annotations = {
            horizontal = [{ label = "p95 alarm", value = var.latency_p95_threshold_seconds }]
          }
        }
      },
      {
        type   = "metric"
        x      = 0
        y      = 6
        width  = 8
        height = 6
        properties = {
          title  = "Healthy / unhealthy targets"
          region = var.aws_region
          period = 60
          view   = "timeSeries"
          metrics = [
            ["AWS/ApplicationELB", "HealthyHostCount", "LoadBalancer", var.alb_arn_suffix, "TargetGroup", var.target_group_arn_suffix, { stat = "Minimum" }],
            [".", "UnHealthyHostCount", ".", ".", ".", ".", { stat = "Maximum" }],
          ]
        }
      },
      {
        type   = "metric"
        x      = 8
        y      = 6
        width  = 8
        height = 6
        properties = {
          title  = "Service CPU and memory (%)"
          region = var.aws_region
          stat   = "Average"
          period = 60
          view   = "timeSeries"
          metrics = [
            ["AWS/ECS", "CPUUtilization", "ClusterName", var.cluster_name, "ServiceName", var.service_name],
            [".", "MemoryUtilization", ".", ".", ".", "."],
          ]
        }
      },
      {
        type   = "metric"
        x      = 16
        y      = 6
        width  = 8
        height = 6
        properties = {
          title  = "Running tasks"
          region = var.aws_region
          stat   = "Average"
          period = 60
          view   = "timeSeries"
          metrics = [
            ["ECS/ContainerInsights", "RunningTaskCount", "ClusterName", var.cluster_name, "ServiceName", var.service_name],
            [".", "DesiredTaskCount", ".", ".", ".", "."],
          ]
        }
      },
      {
        type   = "metric"
        x      = 0
        y      = 12
        width  = 8
        height = 6
        properties = {
          title  = "Database CPU (%)"
          region = var.aws_region
          stat   = "Average"
          period = 60
          view   = "timeSeries"
          metrics = [
            ["AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", var.db_instance_id],
          ]
        }
      },
      {
        type   = "metric"
        x      = 8
        y      = 12
        width  = 8
        height = 6
        properties = {
          title  = "Database connections"
          region = var.aws_region
          stat   = "Maximum"
          period = 60
          view   = "timeSeries"
          metrics = [
            ["AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier", var.db_instance_id],
          ]
        }
      },
      {
        type   = "metric"
        x      = 16
        y      = 12
        width  = 8
        height = 6
        properties = {
          title  = "Database free storage (bytes)"
          region = var.aws_region
          stat   = "Minimum"
          period = 300
          view   = "timeSeries"
          metrics = [
            ["AWS/RDS", "FreeStorageSpace", "DBInstanceIdentifier", var.db_instance_id],
          ]
        }
      },
      {
        type   = "alarm"
        x      = 0
        y      = 18
        width  = 24
        height = 4
        properties = {
          title  = "Alarms"
          alarms = [for a in local.alarms : a.arn]
        }
      },
      {
        type   = "log"
        x      = 0
        y      = 22
        width  = 24
        height = 6
        properties = {
          title  = "Recent errors"
          region = var.aws_region
          view   = "table"
          query  = "SOURCE '${var.log_group_name}' | fields @timestamp, @message | filter @message like /error|Error|ERROR/ | sort @timestamp desc | limit 50"
        }
      },
    ]
  })
}
