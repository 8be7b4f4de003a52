variable "name" {
  description = "Name of the load balancer and prefix of its resources, e.g. delivery-standard-prod."
  type        = string
}

variable "vpc_id" {
  description = "VPC to place the load balancer in."
  type        = string
}

variable "public_subnet_ids" {
  description = "Public subnets (at least two AZs) for the load balancer."
  type        = list(string)
}

variable "certificate_arn" {
  description = "ARN of the ACM certificate for the HTTPS listener."
  type        = string
}

variable "ssl_policy" {
  description = "TLS policy of the HTTPS listener."
  type        = string
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"
}

variable "container_port" {
  description = "Port the service listens on inside the task."
  type        = number
  default     = 3000
}

variable "health_check_path" {
  description = "Path the target group health check requests."
  type        = string
  default     = "/health"
}

variable "ingress_cidr_blocks" {
  description = "CIDR blocks allowed to reach ports 80 and 443."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

# Keep-alive rule: the service must never close an idle connection the load
# balancer still holds, or a request the ALB sends on it at that moment gets a
# 502 (HTTPCode_ELB_5XX_Count, alarm <name>-elb-5xx). So the ALB's idle timeout
# (60 s) stays below the service's keep-alive idle timeout (75 s, in http/).
variable "idle_timeout" {
  description = "Idle timeout of the load balancer, in seconds: below the service's keep-alive idle timeout (75 s)."
  type        = number
  default     = 60

  validation {
    condition     = var.idle_timeout >= 1 && var.idle_timeout <= 4000
    error_message = "idle_timeout is 1 to 4000 seconds."
  }
}

variable "service_keepalive_timeout" {
  description = "Idle keep-alive timeout of the service behind the load balancer, in seconds (75 s, set in the service's code); idle_timeout must stay below it."
  type        = number
  default     = 75
}

variable "deletion_protection" {
  description = "Protect the load balancer from deletion."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}

variable "access_logs_retention_days" {
  description = "Days the S3 bucket keeps the load balancer's access logs before they expire."
  type        = number
  default     = 90
}

variable "access_logs_force_destroy" {
  description = "Let terraform destroy the access log bucket with the logs in it (staging only)."
  type        = bool
  default     = false
}
