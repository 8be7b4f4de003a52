variable "name" {
  description = "Prefix of alarm, topic and dashboard names, e.g. delivery-standard-prod."
  type        = string
}

variable "aws_region" {
  description = "Region of the metrics shown on the dashboard."
  type        = string
}

variable "alb_arn_suffix" {
  description = "ARN suffix of the load balancer (LoadBalancer dimension)."
  type        = string
}

variable "target_group_arn_suffix" {
  description = "ARN suffix of the target group (TargetGroup dimension)."
  type        = string
}

variable "cluster_name" {
  description = "ECS cluster name (ClusterName dimension)."
  type        = string
}

variable "service_name" {
  description = "ECS service name (ServiceName dimension)."
  type        = string
}

variable "db_instance_id" {
  description = "Identifier of the RDS instance (DBInstanceIdentifier dimension)."
  type        = string
}

variable "log_group_name" {
  description = "Log group shown on the dashboard."
  type        = string
}

# Endpoints per severity (runbook "Alerting Contacts"). Empty = no subscription.
variable "pagerduty_endpoint" {
  description = "HTTPS endpoint of the PagerDuty CloudWatch integration (critical alarms)."
  type        = string
  default     = ""
  sensitive   = true
}

variable "slack_endpoint" {
  description = "HTTPS endpoint that posts to Slack #alerts, e.g. an AWS Chatbot or webhook relay URL (high and medium alarms)."
  type        = string
  default     = ""
  sensitive   = true
}

variable "alert_emails" {
  description = "Email addresses for low severity (informational) alarms."
  type        = list(string)
  default     = []
}

variable "alarm_severity" {
  description = "Severity of each alarm (critical, high, medium or low); overrides the defaults from the runbook."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for s in values(var.alarm_severity) : contains(["critical", "high", "medium", "low"], s)])
    error_message = "Severities are critical, high, medium or low."
  }
}

variable "error_rate_threshold_percent" {
  description = "Alarm when target 5xx responses exceed this share of requests."
  type        = number
  default     = 5
}

variable "latency_p95_threshold_seconds" {
  description = "Alarm when the p95 target response time exceeds this."
  type        = number
  default     = 1
}

variable "cpu_threshold_percent" {
  description = "Alarm when the service's average CPU exceeds this."
  type        = number
  default     = 80
}

variable "memory_threshold_percent" {
  description = "Alarm when the service's average memory exceeds this."
  type        = number
  default     = 85
}

variable "low_requests_threshold" {
  description = "Alarm when fewer requests than this arrive in 15 minutes."
  type        = number
  default     = 1
}

variable "elb_5xx_threshold_percent" {
  description = "Alarm when the load balancer's own 5xx answers exceed this share of requests."
  type        = number
  default     = 1
}

variable "db_cpu_threshold_percent" {
  description = "Alarm when the database's average CPU exceeds this."
  type        = number
  default     = 80
}

variable "db_free_storage_threshold_bytes" {
  description = "Alarm when the database's free storage falls below this many bytes (default 1 GiB, below the 10% at which storage autoscaling acts on the initial 20 GiB)."
  type        = number
  default     = 1073741824
}

variable "db_connections_threshold" {
  description = "Alarm when the database has more connections than this (the service holds 2 per task, doubled during a deploy)."
  type        = number
  default     = 50
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
