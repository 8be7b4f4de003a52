variable "image_tag" {
  description = "Image tag to deploy, e.g. v1.2.3 (terraform plan -var=\"image_tag=v1.2.3\")."
  type        = string

  validation {
    condition     = length(var.image_tag) > 0
    error_message = "image_tag must not be empty."
  }
}

variable "aws_region" {
  description = "AWS region."
  type        = string
  default     = "us-east-1"
}

variable "vpc_id" {
  description = "VPC of the service."
  type        = string
}

variable "public_subnet_ids" {
  description = "Public subnets for the load balancer."
  type        = list(string)
}

variable "private_subnet_ids" {
  description = "Private subnets for the tasks and the database."
  type        = list(string)
}

variable "certificate_arn" {
  description = "ACM certificate for the HTTPS listener (api.example.com)."
  type        = string
}

variable "api_keys" {
  description = "Initial API_KEYS value; null leaves the secret to be set with aws secretsmanager put-secret-value."
  type        = string
  default     = null
  sensitive   = true
}

variable "task_cpu" {
  description = "Task CPU units."
  type        = number
  default     = 512
}

variable "task_memory" {
  description = "Task memory in MiB."
  type        = number
  default     = 1024
}

variable "min_capacity" {
  description = "Auto-scaling minimum number of tasks."
  type        = number
  default     = 2
}

variable "namespace_count" {
  description = "Namespaces the tasks serve (those of API_KEYS' keys): each task holds three database connections per namespace, which the connections alarm allows for."
  type        = number
  default     = 1
}

variable "max_capacity" {
  description = "Auto-scaling maximum number of tasks."
  type        = number
  default     = 10
}

variable "db_instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.t4g.small"
}

variable "pagerduty_endpoint" {
  description = "PagerDuty CloudWatch integration URL for critical alarms."
  type        = string
  default     = ""
  sensitive   = true
}

variable "slack_endpoint" {
  description = "HTTPS endpoint posting to Slack #alerts (high and medium alarms)."
  type        = string
  default     = ""
  sensitive   = true
}

variable "alert_emails" {
  description = "Email addresses for low severity alarms."
  type        = list(string)
  default     = []
}
