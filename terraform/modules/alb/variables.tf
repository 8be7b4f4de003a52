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

variable "idle_timeout" {
  description = "Idle timeout of the load balancer, in seconds."
  type        = number
  default     = 60
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
